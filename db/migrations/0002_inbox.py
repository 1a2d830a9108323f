import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from bot.process.domain import Canal


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [
        ops.CreateModel(
            name='InboxItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=255)),
                ('channel', fields.CharEnumField(description='EMAIL: email\nWHATSAPP: whatsapp\nTELEGRAM: telegram\nSLACK: slack\nPHONE: phone\nOTHER: other', enum_type=Canal, max_length=20)),
                ('kind', fields.CharField(max_length=30)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('summary', fields.CharField(default='', max_length=300)),
                ('status', fields.CharField(default='pendiente', db_index=True, max_length=20)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('ticket_id_ref', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One inbound customer event, stored raw before we acknowledge it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InboxRaw',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.OneToOneField('models.InboxItem', source_field='item_id', db_constraint=True, to_field='id', related_name='raw_bytes', on_delete=OnDelete.CASCADE)),
                ('data', fields.BinaryField()),
            ],
            options={'table': 'inbox_raw', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The raw bytes of an inbox item, apart.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CustomerContact',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='contacts', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=10)),
                ('value', fields.CharField(unique=True, max_length=254)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'contactos_cliente', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Another address or phone that speaks for a customer.'},
            bases=['Model'],
        ),
    ]
