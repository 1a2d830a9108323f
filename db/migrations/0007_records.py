import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0006_triage")]

    operations = [
        ops.CreateModel(
            name='PersonalDataLog',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('action', fields.CharField(max_length=20)),
                ('customer_id', fields.IntField(db_index=True)),
                ('actor', fields.CharField(max_length=200)),
                ('tickets', fields.IntField(default=0)),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'registro_datos_personales', 'app': 'models', 'pk_attr': 'id', 'table_description': "Who exported or anonymised a person's data, when, and how much (Ley 21.719)."},
            bases=['Model'],
        ),
    ]
