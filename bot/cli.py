"""Terminal chat with a running Pintu (`make chat`): type like a resident, numbers pick buttons.

Besides the bot's answers, what arrives later (an officer's replies during a handoff, the rating
question after it) is fetched in the background from `GET /api/chat/messages` and shown as it
comes.
"""

from __future__ import annotations

import argparse
import getpass
import os
import threading
import time

import httpx


def _listen(url: str, sender: str, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            try:
                response = client.get("/api/chat/messages", params={"sender": sender, "wait": 20})
                response.raise_for_status()
            except httpx.HTTPError:
                time.sleep(2)
                continue
            for message in response.json()["messages"]:
                print(f"\nPintu > {message['text']}\n\nAnda > ", end="", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.cli")
    parser.add_argument("--url", default=os.environ.get("PINTU_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--sender", default=f"terminal-{getpass.getuser()}")
    args = parser.parse_args()
    print("Pintu chat. Ketik pesan Anda; 'keluar' untuk selesai.\n")
    stop = threading.Event()
    threading.Thread(target=_listen, args=(args.url, args.sender, stop), daemon=True).start()
    with httpx.Client(base_url=args.url, timeout=30) as client:
        while True:
            try:
                text = input("Anda > ").strip()
            except (EOFError, KeyboardInterrupt):
                print()
                break
            if text.lower() in {"keluar", "exit", "quit"}:
                break
            try:
                response = client.post("/api/chat", json={"sender": args.sender, "text": text})
                response.raise_for_status()
            except httpx.HTTPError as exc:
                print(f"(Pintu tidak bisa dihubungi: {exc}. Sudahkah `make run` berjalan?)")
                continue
            for message in response.json()["messages"]:
                print(f"Pintu > {message['text']}\n")
    stop.set()


if __name__ == "__main__":
    main()
