"""The day-one rules: weighted patterns over normalised text (see ``normalise.py``).

Patterns are written in the normalised form: lower case, no accents, WhatsApp short
forms already expanded ("xq" -> "porque", "mñn" -> "manana"). Each signal adds weight
to a Tipo_Incidencia and raises Prioridad evidence; ``kind`` marks the few signals that
act on the level instead (a repeated complaint goes one level up; a customer who says it
is minor caps a Media at Baja, never an Alta). Anger (capitals, insults, 😡) only hints
that something is a complaint: it never raises priority. Politeness ("sin apuro",
"cuando puedan") has no signal at all, so it can never lower one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_W = r"(?: \S+){0,%d}"  # up to N tokens in between


def near(a: str, b: str, gap: int = 4) -> str:
    """``a`` followed by ``b`` within ``gap`` tokens."""
    return rf"\b(?:{a})\b{_W % gap} (?:{b})\b"


@dataclass(frozen=True)
class Signal:
    key: str
    label: str  # what it means, in the team's words
    pattern: re.Pattern[str] = field(repr=False)
    consulta: float = 0.0
    reclamo: float = 0.0
    sugerencia: float = 0.0
    alta: float = 0.0
    media: float = 0.0
    kind: str = ""  # "" | "repeat" | "minor" | "thanks" | "english"


def _s(key: str, label: str, pattern: str, kind: str = "", **weights: float) -> Signal:
    # Matched against " " + the normalised text: a leading word boundary becomes a
    # literal space, which lets the regex engine jump from token to token (about twice
    # as fast on a long email as testing a boundary at every character).
    if pattern.startswith(r"\b"):
        pattern = " " + pattern[2:]
    return Signal(key, label, re.compile(pattern), kind=kind, **weights)


SERVICE = (r"pagina|paginas|web|sitio|tienda|site|website|shop|store|hosting|servidor|"
           r"server|cpanel|panel|todo|wordpress|landing|ecommerce")
DOWN = (r"caid[ao]s?|down|no (?:me )?(?:carga|abre|anda|funciona|responde|sirve)|"
        r"fuera de linea|offline|se cayo|en blanco|not loading|not working|is down|"
        r"no esta funcionando|dejo de funcionar|no responden|no funcionan")
MONEY = r"cobr\w*|cargos?|charged|cobro|pago|pague|charge"
DAY = r"hoy|manana|today|tomorrow|tonight|esta tarde|esta noche"

SIGNALS: tuple[Signal, ...] = (
    # --- money charged twice or wrongly -------------------------------------------
    _s("money_twice", "cobro duplicado",
       near(MONEY, r"dos veces|2 veces|doble|duplicad\w*|tres veces|3 veces|twice|"
                   r"three times|iguales|de mas|demas|distinto", 5), reclamo=3, alta=4),
    _s("money_double", "cobro duplicado",
       r"\b(?:doble cobro|cobro doble|dos cargos|double charge|cobraron igual|"
       r"siguen cobrando|cobrando todos los meses|cobro de mas|cobraron de mas)\b",
       reclamo=3, alta=4),
    _s("money_unknown", "cargo no reconocido",
       r"\b(?:no (?:lo )?reconozco|no reconocid\w*|nunca (?:lo )?pedi|no he contratado|"
       r"no contrate|sin autorizacion|mi plan es de)\b", reclamo=3, alta=4),
    _s("money_paid_twice", "pago duplicado",
       r"\b(?:pague (?:dos|2) veces|pague doble|dos transferencias|hice dos)\b",
       consulta=2, alta=4),
    _s("refund", "devolución de dinero",
       r"\b(?:devuelv\w*|devolucion|reembols\w*|reverso|refund\w*|nota de credito|"
       r"devolver la plata|mi plata|la plata)\b", reclamo=2, alta=2),
    # --- service down ---------------------------------------------------------------
    _s("down", "servicio caído", near(SERVICE, DOWN, 5), reclamo=3, alta=4),
    _s("down_rev", "servicio caído",
       near(r"se cayo|no (?:carga|abre|anda|funciona)|caid[ao]", r"(?:la |el |mi )?(?:"
            + SERVICE + ")", 2), reclamo=3, alta=4),
    _s("down_error", "error del servidor",
       r"\b(?:error (?:5\d\d|de base de datos|establishing)|5\d\d error|database connection|"
       r"account suspended|cuenta suspendida|dominio suspendido|suspendid[ao]|"
       r"sin (?:diseno|estilos)|desordenada|dominio vencido|me cortaron|conexion no privada)\b",
       reclamo=3, alta=4),
    _s("mail_down", "correo caído",
       r"\b(?:ningun[ao]?|none|ni la web ni)\b(?: \S+){0,5} (?:casillas?|"
       r"cuentas?|correos?|mailboxes|recibe)\b|\b(?:no|ni) (?:me )?(?:llegan?|recibe\w*|"
       r"entran?|funcionan) (?:\S+ ){0,2}(?:los |ningun )?correos?\b", reclamo=3, alta=4),
    _s("cannot_work", "el negocio está detenido",
       r"\b(?:no (?:estamos|podemos|puedo) (?:vender|trabajar|laburar|recibir pedidos)|"
       r"no estamos (?:vendiendo|recibiendo)|tienda parada|perdiendo (?:ventas|clientes|"
       r"plata)|perdemos (?:ventas|clientes)|can t take orders|cant take orders|"
       r"(?:nadie|ningun cliente|los clientes|clientes) (?:no )?(?:ha |han )?(?:podido|pueden|"
       r"puede) (?:pagar|comprar)|no (?:pueden|puede|han podido) (?:pagar|comprar)|"
       r"sin poder trabajar|no tenemos (?:web|pagina|correo|sitio|acceso)|"
       r"(?:a )?ningun cliente le funciona)\b", reclamo=2, alta=4),
    _s("payment_down", "pago en línea caído",
       near(r"webpay|pasarela|pago con|boton de pago|payment page|carrito|agregar al carr\w*",
            r"no funciona|error|caid\w*|dejo de funcionar|no deja", 6), reclamo=3, alta=3),
    # --- security --------------------------------------------------------------------
    _s("security", "seguridad",
       r"\b(?:hacke\w*|hackeo|jacke\w*|vulnerad\w*|malware|virus|infectad\w*|phishing|"
       r"suplant\w*|enganoso|hacked|casino|acceso indebido|facturas falsas|link raro|"
       r"enlace extrano|usuarios? (?:\S+ )?(?:desconocid\w*|que no conozco)|"
       r"sigue entrando|alguien (?:entro|tiene la clave)|se llevo la (?:clave|contrasena)|"
       r"(?:que|yo) no mande|filtrad[ao])\b", reclamo=3, alta=5),
    _s("security_own", "seguridad",
       r"\b(?:me robaron|robaron|clave del banco|datos de pago|cerrar la sesion)\b",
       consulta=1, alta=5),
    # --- legal and consumer agencies ---------------------------------------------------
    _s("legal", "amenaza legal",
       r"\b(?:sernac|profeco|defensa del consumidor|indecopi|sic|superintendencia|"
       r"abogad[oa]|lawyer|attorney|demanda\w*|denuncia\w*|accion legal|legal action|"
       r"tribunal\w*|juzgado|querella|reclamo formal|queja formal|consumer protection)\b",
       reclamo=4, alta=6),
    # --- deadlines today / tomorrow ------------------------------------------------------
    _s("deadline", "plazo hoy o mañana",
       near(r"para|antes de|hasta|vence\w*|vencio|venc\w*|es|sera|lanzamos|tengo|tenemos|"
            r"necesito|necesitamos|need|due|listo|lista|listos|estaran|estara|tendre|"
            r"tenerlo|entregar\w*|imprimir|llega|cierro|plazo", DAY, 4), alta=4),
    _s("deadline_now", "plazo hoy o mañana",
       rf"\b(?:{DAY}) (?:mismo|temprano|a primera hora|a las|en la tarde|en la manana)\b|"
       r"\bhoy mismo\b|\bal tiro\b|\bantes de esa hora\b|\bno hay margen\b",
       alta=4),
    _s("deadline_week", "plazo esta semana",
       r"\b(?:esta semana|this week|proxima semana|para el (?:lunes|martes|miercoles|"
       r"jueves|viernes)|antes del (?:lunes|martes|miercoles|jueves|viernes|cierre)|"
       r"el (?:lunes|martes|miercoles|jueves|viernes) alcanza\w*|tenerlo el \w+|"
       r"este mes|en \d+ dias|en (?:cinco|tres|dos) dias|comienza el lunes)\b", media=2),
    _s("urgent", "urgente", r"\b(?:urgente|urgencia|emergencia|inmediat\w*|ya mismo)\b",
       alta=1),
    # --- repeated complaints ---------------------------------------------------------------
    _s("repeat", "reclamo repetido",
       r"\b(?:(?:van|es la|esta es la|ya es la|llevo|ya les|les) (?:\S+ ){0,2}(?:2|3|4|dos|"
       r"tres|cuatro|segunda|tercera|cuarta) (?:veces|vez)|ya (?:les )?(?:escribi|dije|"
       r"pedi|avise|reclame)|ya escribi|(?:sigo|seguimos) (?:sin|esperando)|sigue igual|"
       r"nadie (?:me )?(?:responde|hace nada|da solucion)|nadie me contesta|sin (?:ninguna )?"
       r"respuesta|no me pescan|no me responden|no me contestan|llevo (?:una|\d+|dos|"
       r"tres) (?:semanas?|dias|mes\w*)|hace (?:una|\d+|dos|tres|ocho) (?:semanas?|dias) "
       r"(?:que|les)|de nuevo|otra vez|again)\b", reclamo=3, kind="repeat"),
    # --- partial failures and defects -----------------------------------------------------
    _s("failure", "algo no funciona",
       r"\b(?:no (?:me )?(?:funciona|anda|sirve|carga|abre|envia|deja|llega|llegan|"
       r"aparece|se activa|recibo)|no puedo (?:entrar|enviar|ingresar|acceder)|no logro|"
       r"error|errores|falla|fallo|problema|roto|rota|rebota\w*|lent[ao]|se demora|"
       r"demora (?:como|mucho|bastante)|no es valida|no segur[ao]|not secure|corregi\w*|"
       r"corrijan|"
       r"retraso|faltan?|404|broken|wrong|not working|no valida|rechaz\w*|expirado|"
       r"no se abre|tapa|manda a otro|lleva a una pagina)\b", reclamo=2.5, media=2),
    _s("defect", "defecto del trabajo",
       r"\b(?:mal escrit\w*|mal impres\w*|equivocad\w*|incorrect\w*|en vez de|destenid\w*|"
       r"corrid[ao]s?|manchas?|chuec\w*|borde blanco|linea horizontal|faltantes|"
       r"otro nombre|mal el|mal la|esta mal|sale con|salio con|se ve morado|se ve raro|"
       r"se ve rara|mal (?:la|el))\b", reclamo=2.5, media=2),
    _s("late", "entrega atrasada",
       r"\b(?:atrasad\w*|no ha llegado|todavia no|aun no|no tengo noticias|"
       r"tenia (?:que|q) estar|debia (?:estar|entregarse)|no han entregado|no se entrego|"
       r"no me han entregado|no la veo|no esta publicado|sigue en produccion)\b",
       reclamo=2.5, media=2),
    _s("minor", "detalle menor",
       r"\b(?:no es (?:grave|importante|tan grave)|solo (?:queria|quiero|para) (?:avisar|"
       r"comentar|dejar constancia)|dejar constancia|les aviso|falta de ortografia|"
       r"para el proximo|un poco|a veces|no tengo problemas tecnicos|sin tilde)\b",
       reclamo=1, kind="minor"),
    # --- requests that need action soon ---------------------------------------------------
    _s("document", "documento tributario",
       r"\b(?:factura|facturas|boleta|invoice|rut|sii)\b", consulta=1, media=1),
    _s("restore", "recuperar datos",
       r"\b(?:recuperar|restaurar\w*|respaldo|borre|eliminamos|se me borro|borro)\b",
       consulta=1.5, media=2),
    _s("quota", "casilla llena", r"\b(?:llena|capacidad|95)\b", consulta=1, media=2),
    _s("spam", "spam", r"\bspam\b", reclamo=1, media=2),
    _s("spam_folder", "correos a spam",
       r"\b(?:llegando a (?:la carpeta de )?spam|llegan a spam|en spam|lista negra|"
       r"spam \w+ (?:a la|a mi) casilla|correos spam)\b", reclamo=2, media=1),
    _s("need_it", "lo necesita pronto",
       r"\b(?:la necesito|lo necesito|los necesito|las necesito|needs it|la necesita)\b",
       media=1),
    _s("stop_job", "detener un trabajo en curso",
       r"\b(?:detener|parar|frenar) la (?:impresion|produccion)\b", consulta=3, alta=4),
    # --- questions and ordinary requests ---------------------------------------------------
    _s("question", "pregunta",
       r"\?|\b(?:cuanto|precio|precios|cotiz\w*|presupuesto|quote|how much|tienen|hacen|"
       r"ofrecen|aceptan|puedo|se puede|como|horario|direccion|hasta que hora|a que hora|"
       r"do you|consulta|pregunta|quisiera|me gustaria (?:saber|cotizar)|informacion|"
       r"incluye|sirve para|es posible|is that possible|necesito hablar|podeis|"
       r"me confirman|es normal|que significa|que puedo hacer|que debemos)\b",
       consulta=1.5),
    _s("own_error", "error del cliente",
       r"\b(?:me equivoque|por error|sin querer|olvide|no recuerdo|perdi|no encuentro|"
       r"es real|es de ustedes|es suyo|solo quiero confirmar|me equivoque)\b", consulta=2.5),
    _s("order", "pedido o cambio",
       r"\b(?:quiero (?:renovar|registrar|hacer|cambiar|pasar|dar de baja)|queremos|"
       r"quisiera encargar|crear las|nuevas casillas|agregar \d+|adjunto|cambiar el|"
       r"actualizar|me pueden (?:mandar|enviar|dar|llamar|ayudar)|necesito (?:agregar|"
       r"cambiar|el logo|q me manden|que me manden))\b", consulta=1.5),
    # --- ideas, thanks, greetings --------------------------------------------------------------
    _s("idea", "sugerencia",
       r"\b(?:sugiero|sugerencia|suggest\w*|propongo|les propongo|una idea|la idea|"
       r"seria (?:bueno|genial|mejor|util|ideal|bacan|buena idea)|would be (?:great|nice)|"
       r"would be nice|podrian (?:agregar|poner|mandar|incluir|ofrecer|tener)|deberian|"
       r"me gustaria que|estaria bueno|feature request|could you add|pongan|agreguen|"
       r"permitan|podrian mejorar|podria mejorar|mas plantillas)\b", sugerencia=4),
    _s("thanks", "agradecimiento",
       r"\b(?:gracias|thanks|thank|agradec\w*|felicit\w*|excelente|buen trabajo|"
       r"great job|amazing|quedo (?:perfecto|bien|bkn|bacan|hermos\w*)|quedaron "
       r"(?:hermos\w*|bien)|recomendare|felices fiestas|feliz navidad|todo quedo bien|"
       r"padrisimo|emo_feliz|perfecto|oka?)\b", sugerencia=1.2, kind="thanks"),
    _s("anger", "enojo",
       r"\b(?:weon|boludo|pesim\w*|harto|molest[ao]|mala atencion|inaceptable|verguenza|"
       r"emo_enojo|fome|descortes|pesada)\b", reclamo=0.8),
    _s("english", "mensaje en inglés",
       r"\b(?:the|is|my|our|you|please|can|we|have|since|could|would|for|and)\b",
       kind="english"),
)
