"""A subscriber in Python with websocket-client (Debian: python3-websocket; pip: websocket-client).

    python3 subscriber_example.py ws://127.0.0.1:3001/production admin            # anonymous, project "default"
    python3 subscriber_example.py wss://… chat:room-1 --token "$(python3 realtime_broadcast.py token --key rbk_… --sub me)"

Prints each message as a line of JSON; pings every minute (API Gateway closes idle connections
after 10 minutes, presence drops silent members after 5); stops after --count messages if given.
"""
import argparse
import json
import threading

import websocket


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("channel")
    parser.add_argument("--token")
    parser.add_argument("--count", type=int, default=0, help="stop after this many messages (0: never)")
    args = parser.parse_args()

    protocols = ["rb.v1"] + ([f"rb.token.{args.token}"] if args.token else [])
    ws = websocket.create_connection(args.url, subprotocols=protocols, timeout=30)
    ws.send(json.dumps({"action": "subscribe", "channel": args.channel}))

    def ping():
        while ws.connected:
            stop.wait(60)
            if stop.is_set():
                return
            ws.send("ping")

    stop = threading.Event()
    threading.Thread(target=ping, daemon=True).start()
    received = 0
    try:
        while True:
            text = ws.recv()
            if text == "pong":
                continue
            message = json.loads(text)
            print(json.dumps(message), flush=True)
            if "event" in message and message.get("channel") == args.channel:
                received += 1
                if args.count and received >= args.count:
                    break
    finally:
        stop.set()
        ws.close()


if __name__ == "__main__":
    main()
