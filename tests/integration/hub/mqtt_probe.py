#!/usr/bin/env python3
"""One MQTT 3.1.1 client session with python3-paho-mqtt, reported as one JSON line.

Connects (TLS when --cafile is given, with a client certificate when --cert/--key are), makes each
--subscribe, then each --publish, and reports what the broker answered:

  {"connack": 0, "granted": [1, 128], "published": [{"topic": "...", "puback": true}],
   "disconnected": false}

`connack` is the CONNACK return code (5 = not authorised); `granted` the SUBACK codes (128 =
refused); a publish with `puback` false got no PUBACK because the broker disconnected the client
first (`disconnected` true) or the timeout passed. The session never reconnects.

With --message the publishes carry that text instead of --payload-size bytes; with --expect N the
session then waits (up to the timeout) for N messages and reports them as
"received": [{"topic": "...", "payload": "..."}].
"""
import argparse
import json
import ssl
import sys
import time

import paho.mqtt.client as mqtt


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--cafile")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--subscribe", action="append", default=[])
    parser.add_argument("--publish", action="append", default=[])
    parser.add_argument("--payload-size", type=int, default=16)
    parser.add_argument("--qos", type=int, default=1)
    parser.add_argument("--message")
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--persistent", action="store_true", help="clean session off")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()

    state = {"connack": None, "granted": [], "published": [], "disconnected": False,
             "received": []}
    acked = set()
    suback = {}

    client = mqtt.Client(client_id=args.client_id, protocol=mqtt.MQTTv311,
                         clean_session=not args.persistent)
    if args.username is not None:
        client.username_pw_set(args.username, args.password)
    if args.cafile:
        client.tls_set(ca_certs=args.cafile, certfile=args.cert, keyfile=args.key,
                       tls_version=ssl.PROTOCOL_TLS_CLIENT)

    def on_connect(_client, _userdata, _flags, rc):
        state["connack"] = rc

    def on_subscribe(_client, _userdata, mid, granted_qos):
        suback[mid] = list(granted_qos)

    def on_publish(_client, _userdata, mid):
        acked.add(mid)

    def on_disconnect(_client, _userdata, _rc):
        state["disconnected"] = True

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_publish = on_publish
    client.on_disconnect = on_disconnect
    client.on_message = lambda _c, _u, message: state["received"].append(
        {"topic": message.topic, "payload": message.payload.decode("utf-8", "replace")})

    def run_until(done):
        deadline = time.monotonic() + args.timeout
        while not done() and not state["disconnected"] and time.monotonic() < deadline:
            client.loop(timeout=0.05)

    try:
        session(args, client, state, acked, suback, run_until)
    except (OSError, ssl.SSLError) as error:  # e.g. the TLS handshake refused our certificate
        state["error"] = str(error)
    print(json.dumps(state))
    return 0


def session(args, client, state, acked, suback, run_until):
    client.connect(args.host, args.port, keepalive=30)
    run_until(lambda: state["connack"] is not None)
    if state["connack"] != 0:
        return

    for topic in args.subscribe:
        _, mid = client.subscribe(topic, qos=1)
        run_until(lambda: mid in suback)
        state["granted"].extend(suback.get(mid, []))

    payload = args.message.encode() if args.message is not None else b"x" * args.payload_size
    for topic in args.publish:
        info = client.publish(topic, payload, qos=args.qos)
        if args.qos == 0:
            run_until(info.is_published)
        else:
            run_until(lambda: info.mid in acked)
        state["published"].append({"topic": topic, "puback": info.mid in acked})
    if args.qos == 0 and args.publish:
        # QoS 0 has no PUBACK: a short wait shows whether the broker disconnected the client.
        deadline = time.monotonic() + 0.5
        while not state["disconnected"] and time.monotonic() < deadline:
            client.loop(timeout=0.05)

    run_until(lambda: len(state["received"]) >= args.expect)

    if not state["disconnected"]:
        # paho reports its own DISCONNECT through on_disconnect too: the report is taken first.
        client.on_disconnect = None
        client.disconnect()


if __name__ == "__main__":
    sys.exit(main())
