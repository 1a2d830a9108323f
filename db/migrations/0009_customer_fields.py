"""Customers as one person across channels (issue 11): first name, form of address and
RUT on ``clientes``, and ``clientes_cambios``, the audit of customer edits and merges.

Existing rows stay valid: the new text columns default to "" and the RUT is nullable.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0007_records")]

    initial = False

    operations = [
        ops.AddField(
            model_name='Customer',
            name='first_name',
            field=fields.CharField(default='', db_default='', max_length=100),
        ),
        ops.AddField(
            model_name='Customer',
            name='form_of_address',
            field=fields.CharField(default='', db_default='', max_length=20),
        ),
        ops.AddField(
            model_name='Customer',
            name='rut',
            field=fields.CharField(null=True, unique=True, max_length=12),
        ),
        ops.CreateModel(
            name='CustomerChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='changes', on_delete=OnDelete.CASCADE)),
                ('author_member', fields.ForeignKeyField('models.TeamMember', source_field='author_member_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('author_name', fields.CharField(max_length=200)),
                ('field', fields.CharField(max_length=40)),
                ('old_value', fields.TextField(default='', unique=False)),
                ('new_value', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'clientes_cambios', 'app': 'models', 'pk_attr': 'id', 'table_description': "One change to a customer's data (an edit or a merge): who, what, old -> new."},
            bases=['Model'],
        ),
    ]
