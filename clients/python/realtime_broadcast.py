"""Publish to a realtime broadcast deployment, and sign client tokens, with Python's standard library only.

    from realtime_broadcast import Publisher, sign_token

    publisher = Publisher("https://abc.execute-api.eu-west-1.amazonaws.com", key="rbk_...")
    publisher.publish("chat:room-1", "say", {"text": "hi"})       # -> {"success": True, "sent": 3, ...}
    token = sign_token("rbk_...", sub="user-42", channels=["presence-*"], ttl_seconds=3600)

Retries 429, 5xx and network failures with capped, jittered backoff; every message carries an
idempotency key (yours, or a new one), so a retry never delivers twice.
"""
import base64
import hashlib
import hmac
import json
import random
import time
import urllib.error
import urllib.request
import uuid

__all__ = ["Publisher", "PublishError", "sign_token"]

# A project key's first 12 characters name it: a token's "kid".
KEY_PREFIX_LENGTH = 12


class PublishError(Exception):
    """An answer that retrying will not change (400, 401, 403, 404, 413, ...), or the last failure."""

    def __init__(self, status, code, message):
        super().__init__(f"{status} {code or ''}: {message}".strip())
        self.status = status
        self.code = code


class Publisher:
    def __init__(self, url, key, project_id=None, attempts=5, initial_backoff=0.2, max_backoff=5.0, timeout=10.0):
        self.url = url.rstrip("/")
        self.key = key
        self.project_id = project_id
        self.attempts = attempts
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.timeout = timeout

    def publish(self, channel, event, data=None, retain=False, idempotency_key=None):
        """One message to a channel's subscribers; returns the answer (counts, or "queued" for a big channel)."""
        message = {"channel": channel, "event": event, "data": data, "idempotencyKey": idempotency_key or str(uuid.uuid4())}
        if retain:
            message["retain"] = True
        return self._post(message)

    def publish_batch(self, messages):
        """Up to 25 messages ({"channel", "event", "data"}) in one request; a result per message."""
        items = [dict(m, idempotencyKey=m.get("idempotencyKey") or str(uuid.uuid4())) for m in messages]
        return self._post({"messages": items})["results"]

    def _post(self, body):
        if self.project_id:
            body = dict(body, projectId=self.project_id)
        payload = json.dumps(body).encode("utf-8")
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(
                f"{self.url}/broadcast",
                data=payload,
                method="POST",
                headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
            )
            status, answer = 0, {}
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as error:
                status = error.code
                try:
                    answer = json.loads(error.read() or b"{}")
                except ValueError:
                    answer = {}
            except (urllib.error.URLError, OSError) as error:
                if attempt >= self.attempts:
                    raise PublishError(0, None, str(error)) from error
            retryable = status == 0 or status == 429 or status >= 500
            if not retryable or attempt >= self.attempts:
                raise PublishError(status, answer.get("code"), answer.get("error") or answer.get("message") or f"HTTP {status}")
            time.sleep(random.random() * min(self.max_backoff, self.initial_backoff * 2 ** attempt))
        raise PublishError(0, None, "no attempts")


def _b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def sign_token(project_key, sub, ttl_seconds=3600, channels=None, publish=None, info=None, monitor=None, now=None):
    """A client token (JWT, HS256) for a browser or device, signed with the project key as your backend would.

    channels / publish: patterns of restricted channels it may join and channels it may publish to.
    info: up to 1 KB of JSON about the user (presence members carry it).
    """
    issued = int(now if now is not None else time.time())
    header = {"alg": "HS256", "typ": "JWT", "kid": project_key[:KEY_PREFIX_LENGTH]}
    claims = {"sub": sub, "iat": issued, "exp": issued + int(ttl_seconds)}
    for name, value in (("channels", channels), ("publish", publish), ("info", info), ("monitor", monitor)):
        if value is not None:
            claims[name] = value
    signing_input = f"{_b64url(json.dumps(header, separators=(',', ':')).encode())}.{_b64url(json.dumps(claims, separators=(',', ':')).encode())}"
    signature = hmac.new(project_key.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Publish one message, or print a client token.")
    parser.add_argument("command", choices=["publish", "token"])
    parser.add_argument("--url")
    parser.add_argument("--key", required=True)
    parser.add_argument("--project")
    parser.add_argument("--channel")
    parser.add_argument("--event", default="message")
    parser.add_argument("--data", default="null", help="JSON")
    parser.add_argument("--sub", default="user")
    parser.add_argument("--ttl", type=int, default=3600)
    args = parser.parse_args()
    if args.command == "token":
        print(sign_token(args.key, args.sub, args.ttl))
    else:
        answer = Publisher(args.url, args.key, project_id=args.project).publish(args.channel, args.event, json.loads(args.data))
        print(json.dumps(answer))
