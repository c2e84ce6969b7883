"""Terminal chat with a running Pintu (`make chat`): type like a resident, numbers pick buttons."""

from __future__ import annotations

import argparse
import getpass
import os

import httpx


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.cli")
    parser.add_argument("--url", default=os.environ.get("PINTU_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--sender", default=f"terminal-{getpass.getuser()}")
    args = parser.parse_args()
    print("Pintu chat. Ketik pesan Anda; 'keluar' untuk selesai.\n")
    with httpx.Client(base_url=args.url, timeout=30) as client:
        while True:
            try:
                text = input("Anda > ").strip()
            except (EOFError, KeyboardInterrupt):
                print()
                return
            if text.lower() in {"keluar", "exit", "quit"}:
                return
            try:
                response = client.post("/api/chat", json={"sender": args.sender, "text": text})
                response.raise_for_status()
            except httpx.HTTPError as exc:
                print(f"(Pintu tidak bisa dihubungi: {exc}. Sudahkah `make run` berjalan?)")
                continue
            for message in response.json()["messages"]:
                print(f"Pintu > {message['text']}\n")


if __name__ == "__main__":
    main()
