#!/usr/bin/env python3
"""A module client under load, with python3-paho-mqtt, that rides through hub restarts.

  publish:   sends --count QoS 1 messages whose bodies are their numbers 1..count on --topic at
             about --rate per second, reconnecting whenever the hub goes away; appends the number
             of each message the hub acknowledged (PUBACK) to --record, one per line.
  subscribe: subscribes to --topic (again after every reconnection) and appends the body of each
             message received to --record, one per line, until killed.

Both print "connected" / "disconnected" lines to stderr as the session comes and goes.
"""
import argparse
import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt


def make_client(args):
    client = mqtt.Client(client_id=args.client_id, protocol=mqtt.MQTTv311, clean_session=True)
    client.username_pw_set(args.username, args.password)
    client.tls_set(ca_certs=args.cafile, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=0.1, max_delay=1)
    client.on_disconnect = lambda *_: print("disconnected", file=sys.stderr, flush=True)
    return client


def connect(client, args):
    while True:
        try:
            client.connect(args.host, args.port, keepalive=10)
            return
        except (OSError, ssl.SSLError):
            time.sleep(0.2)


def publish(args):
    client = make_client(args)
    record = open(args.record, "a", buffering=1)
    lock = threading.Lock()
    number_of = {}  # paho message id -> message number
    early = set()  # message ids acknowledged before publish() returned them
    acked = set()

    def ack(number):
        if number not in acked:
            acked.add(number)
            record.write(f"{number}\n")

    # paho calls on_publish holding its own lock, which publish() takes too: publish() is called
    # without ours, and an ack may arrive before its message id is recorded.
    def on_publish(_client, _userdata, mid):
        with lock:
            number = number_of.pop(mid, None)
            if number is None:
                early.add(mid)
            else:
                ack(number)

    def on_connect(_client, _userdata, _flags, rc):
        print(f"connected {rc}", file=sys.stderr, flush=True)

    client.on_publish = on_publish
    client.on_connect = on_connect
    connect(client, args)
    client.loop_start()
    interval = 1.0 / args.rate
    next_at = time.monotonic()
    for number in range(1, args.count + 1):
        info = client.publish(args.topic, str(number).encode(), qos=1)
        with lock:
            if info.mid in early:
                early.discard(info.mid)
                ack(number)
            else:
                number_of[info.mid] = number
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    deadline = time.monotonic() + args.drain_seconds
    while time.monotonic() < deadline:
        with lock:
            if len(acked) == args.count:
                break
        time.sleep(0.05)
    client.loop_stop()
    with lock:
        print(f"acked {len(acked)} of {args.count}", file=sys.stderr, flush=True)
    return 0


def subscribe(args):
    client = make_client(args)
    record = open(args.record, "a", buffering=1)

    def on_connect(_client, _userdata, _flags, rc):
        print(f"connected {rc}", file=sys.stderr, flush=True)
        if rc == 0:
            client.subscribe(args.topic, qos=1)

    def on_message(_client, _userdata, message):
        record.write(message.payload.decode() + "\n")

    client.on_connect = on_connect
    client.on_message = on_message
    connect(client, args)
    client.loop_forever(retry_first_connection=True)
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["publish", "subscribe"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--drain-seconds", type=float, default=60)
    args = parser.parse_args()
    return publish(args) if args.mode == "publish" else subscribe(args)


if __name__ == "__main__":
    sys.exit(main())
