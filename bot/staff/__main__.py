"""`python -m bot.staff create-user --username ani --name "Ani (Helpdesk)" --role agent`

The password is asked for twice (or read from PINTU_STAFF_PASSWORD, for provisioning scripts).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from sqlalchemy.exc import IntegrityError

from ..db import make_engine, make_sessionmaker
from ..settings import get_settings
from .auth import ROLES, WeakPassword, create_staff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.staff")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="create a staff account")
    create.add_argument("--username", required=True)
    create.add_argument("--name", required=True, help="name shown to residents and colleagues")
    create.add_argument("--role", choices=ROLES, default="agent")
    args = parser.parse_args(argv)

    password = os.environ.get("PINTU_STAFF_PASSWORD")
    if not password:
        password = getpass.getpass("Kata sandi: ")
        if getpass.getpass("Ulangi kata sandi: ") != password:
            print("Kata sandi tidak sama.", file=sys.stderr)
            return 1
    engine = make_engine(get_settings().database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            user = create_staff(session, args.username, args.name, args.role, password)
            print(f"akun {user.username} ({user.role}) dibuat")
    except WeakPassword as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except IntegrityError:
        print(f"nama pengguna {args.username} sudah dipakai", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
