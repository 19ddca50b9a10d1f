"""``manage.py room_key ROOM... [--key KEY]``: issue live rooms' control keys from a shell.

The editor gets its room and key from POST /rooms/. Scripts that drive rooms by name (the load
test, a classroom set up in advance) issue them here instead: a new random key per room, or
``--key`` for one chosen key. A room that already has a key keeps it unless ``--replace``.
Prints one ``ROOM KEY`` line per room issued.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from playground.live.protocol import is_room_id
from playground.topologies.models import RoomKey, hash_token, new_control_key


class Command(BaseCommand):
    help = "Issue control keys for the named live rooms and print them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("rooms", nargs="+", metavar="ROOM")
        parser.add_argument("--key", help="use this key (at least 8 characters) instead of a random one")
        parser.add_argument("--replace", action="store_true", help="replace a room's existing key")

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = options["key"]
        if chosen is not None and not 8 <= len(chosen) <= 128:
            raise CommandError("--key must be 8 to 128 characters")
        for room in options["rooms"]:
            if not is_room_id(room):
                raise CommandError(f"{room!r} is not a room id (8 to 64 letters, digits, '-' or '_')")
            key = chosen or new_control_key()
            if options["replace"]:
                RoomKey.objects.update_or_create(room=room, defaults={"key_hash": hash_token(key)})
            else:
                _, created = RoomKey.objects.get_or_create(room=room, defaults={"key_hash": hash_token(key)})
                if not created:
                    self.stderr.write(f"{room} already has a key (kept; --replace to change it)")
                    continue
            self.stdout.write(f"{room} {key}")
