"""Triage (issue 16): the suggestion stored on each ticket, and the labelled examples."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from bot.process.domain import Canal, Prioridad, TipoIncidencia

_TIPO = 'CONSULTA: Consulta\nRECLAMO: Reclamo\nSUGERENCIA: Sugerencia'
_PRIO = 'BAJA: Baja\nMEDIA: Media\nALTA: Alta'
_CANAL = 'EMAIL: email\nWHATSAPP: whatsapp\nTELEGRAM: telegram\nSLACK: slack\nPHONE: phone\nOTHER: other'


class Migration(migrations.Migration):
    dependencies = [("models", "0005_reports_csat")]

    operations = [
        ops.AddField(
            model_name='Ticket', name='suggested_tipo',
            field=fields.CharEnumField(null=True, description=_TIPO, enum_type=TipoIncidencia, max_length=20),
        ),
        ops.AddField(
            model_name='Ticket', name='suggested_prioridad',
            field=fields.CharEnumField(null=True, description=_PRIO, enum_type=Prioridad, max_length=10),
        ),
        ops.AddField(
            model_name='Ticket', name='suggested_tipo_confidence',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Ticket', name='suggested_prioridad_confidence',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Ticket', name='suggestion_reasons',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.CreateModel(
            name='TriageExample',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('models.Ticket', source_field='ticket_id', null=True, unique=True, db_constraint=True, to_field='id', related_name='triage_examples', on_delete=OnDelete.SET_NULL)),
                ('channel', fields.CharEnumField(description=_CANAL, enum_type=Canal, max_length=20)),
                ('subject', fields.CharField(default='', max_length=300)),
                ('text', fields.TextField(default='', unique=False)),
                ('tipo', fields.CharEnumField(null=True, description=_TIPO, enum_type=TipoIncidencia, max_length=20)),
                ('prioridad', fields.CharEnumField(null=True, description=_PRIO, enum_type=Prioridad, max_length=10)),
                ('suggested_tipo', fields.CharEnumField(null=True, description=_TIPO, enum_type=TipoIncidencia, max_length=20)),
                ('suggested_prioridad', fields.CharEnumField(null=True, description=_PRIO, enum_type=Prioridad, max_length=10)),
                ('accepted', fields.BooleanField(default=False)),
                ('source', fields.CharField(default='', max_length=20)),
                ('member', fields.ForeignKeyField('models.TeamMember', source_field='member_id', null=True, db_constraint=True, to_field='id', related_name='triage_examples', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'triage_ejemplos', 'app': 'models', 'pk_attr': 'id', 'table_description': "A person's decision on a ticket that had a suggestion: the company's own label."},
            bases=['Model'],
        ),
    ]
