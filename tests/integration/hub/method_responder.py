#!/usr/bin/env python3
"""A device or module client answering direct methods, with python3-paho-mqtt, until killed.

Subscribes to $iothub/methods/POST/# and answers each request on
$iothub/methods/res/{--status}/?$rid={rid} with {"method": name, "request": <the request>}; with
--silent it never answers. Prints "ready" once the subscription is granted.
"""
import argparse
import json
import ssl
import sys

import paho.mqtt.client as mqtt


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--status", default="200")
    parser.add_argument("--silent", action="store_true")
    args = parser.parse_args()

    client = mqtt.Client(client_id=args.client_id, protocol=mqtt.MQTTv311, clean_session=True)
    client.username_pw_set(args.username, args.password)
    client.tls_set(ca_certs=args.cafile, tls_version=ssl.PROTOCOL_TLS_CLIENT)

    def on_connect(_client, _userdata, _flags, rc):
        if rc == 0:
            client.subscribe("$iothub/methods/POST/#", qos=1)

    def on_subscribe(_client, _userdata, _mid, _granted):
        print("ready", flush=True)

    def on_message(_client, _userdata, message):
        if args.silent or not message.topic.startswith("$iothub/methods/POST/"):
            return
        name, _, query = message.topic[len("$iothub/methods/POST/"):].partition("/?")
        rid = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("$rid", "")
        try:
            request = json.loads(message.payload or b"null")
        except ValueError:
            request = message.payload.decode("utf-8", "replace")
        body = json.dumps({"method": name, "request": request})
        client.publish(f"$iothub/methods/res/{args.status}/?$rid={rid}", body, qos=1)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", args.port, keepalive=30)
    client.loop_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
