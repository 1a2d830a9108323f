"""Ticket events across instances (issue 14): ``ticket_events``, the events a change
committed on any instance leaves for the one instance that redraws the chats' cards
(see ``bot/jobs/event_relay.py``). Nothing existing changes.
"""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0010_leases")]

    initial = False

    operations = [
        ops.CreateModel(
            name='TicketEventRow',
            fields=[
                ('id', fields.BigIntField(primary_key=True, unique=True, db_index=True)),
                ('ticket_id', fields.IntField()),
                ('kind', fields.CharField(max_length=30)),
                ('actor_name', fields.CharField(max_length=200)),
                ('actor_member_id', fields.IntField(null=True)),
                ('interaction_id', fields.IntField(null=True)),
                ('changes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_by', fields.CharField(null=True, max_length=120)),
            ],
            options={'table': 'ticket_events', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A ticket event waiting for the instance that relays events to the chats. Stored\n    after the change commits, claimed by the relay (``claimed_by``), deleted once shown:\n    the table holds only what is in flight, so no customer data lingers in it.'},
            bases=['Model'],
        ),
    ]
