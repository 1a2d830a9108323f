import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0003_closing_loop")]

    operations = [
        ops.CreateModel(
            name='NocoSync',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=12)),
                ('ref_id', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'nocodb_sync', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A customer, ticket or interaction that changed and must reach NocoDB.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NocoRow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=12)),
                ('ref_id', fields.IntField()),
                ('row_id', fields.IntField()),
                ('pushed', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('pushed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'nocodb_rows', 'app': 'models', 'unique_together': (('kind', 'ref_id'),), 'pk_attr': 'id', 'table_description': 'Our record <-> its NocoDB row.'},
            bases=['Model'],
        ),
    ]
