"""A signed API request (REQUIRE_SIGNATURES=true), with the `cryptography` package.

    python signed_request.py BASE_URL API_KEY WALLET_ID SEED_HEX METHOD PATH [BODY_JSON]

SEED_HEX is the wallet's Ed25519 private key (its 32-byte seed, hex); Relay
holds the matching public key. Prints the answer's status and body as JSON.
"""

import hashlib
import json
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def signature_headers(key, wallet_id, method, path, body):
    """The three headers that sign `method path body` for `wallet_id`."""
    timestamp = str(int(time.time()))
    message = "\n".join(
        ["novij-signature-v1", method, path, timestamp, hashlib.sha256(body).hexdigest()]
    )
    return {
        "X-Novij-Wallet": wallet_id,
        "X-Novij-Timestamp": timestamp,
        "X-Novij-Signature": b64encode(key.sign(message.encode())).decode(),
    }


def main():
    base_url, api_key, wallet_id, seed_hex, method, path = sys.argv[1:7]
    body = sys.argv[7].encode() if len(sys.argv) > 7 else b""
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    # The path signed is the path requested, without the query.
    headers.update(signature_headers(key, wallet_id, method, path, body))
    request = urllib.request.Request(base_url + path, data=body or None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    print(json.dumps({"status": status, "body": json.loads(text or b"null")}))


if __name__ == "__main__":
    main()
