// A leaf (downstream) device as any SDK user writes one: Client.fromConnectionString over MQTT
// with a connection string naming the edge hub as GatewayHostName, trusting the hub's CA through
// setOptions({ca}). Sends telemetry, then closes. Prints one JSON line per thing that happened
// (report.js).
//
//   DEVICE_CONNECTION_STRING='HostName=…;DeviceId=…;SharedAccessKey=…;GatewayHostName=…' \
//   node leaf_device.js --ca FILE [--count N] [--body TEXT] [--prop k=v]...
//                       [--message-id ID] [--content-type T] [--receive]
//                       [--lifetime SECONDS]
//
// "connected", one "sent" per message (after its PUBACK), "closed"; exit 0. With --receive it
// stays connected instead, reporting "ready" once it listens and every cloud-to-device message
// ("c2d", completed), until SIGTERM ("closed", exit 0). Any SDK error: "error" and exit 1.
'use strict';

const fs = require('fs');
const { Client, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');
const { report, fail, parseArgs, keyValue, propertiesOf, lifetime } = require('./report');

const args = parseArgs(process.argv.slice(2));
const one = (name, fallback) => (args[name] ? args[name][0] : fallback);

async function main() {
  const client = Client.fromConnectionString(process.env.DEVICE_CONNECTION_STRING, Mqtt);
  lifetime(Number(one('lifetime', 60)), (done) => client.close(() => done()));
  client.on('error', (err) => fail('client', err));
  await client.setOptions({ ca: fs.readFileSync(one('ca'), 'utf8') });
  await client.open();
  report('connected');

  if (args.receive) {
    client.on('message', (message) => {
      report('c2d', {
        body: message.getBytes().toString(),
        properties: propertiesOf(message),
        messageId: message.messageId,
      });
      client.complete(message, (err) => err && fail('complete', err));
    });
  }

  const count = Number(one('count', args.receive ? 0 : 1));
  for (let i = 0; i < count; ++i) {
    const message = new Message(one('body', ''));
    for (const prop of args.prop || []) message.properties.add(...keyValue(prop));
    message.properties.add('seq', String(i));
    if (args['message-id']) message.messageId = count > 1 ? `${one('message-id')}-${i}` : one('message-id');
    if (args['content-type']) message.contentType = one('content-type');
    const result = await client.sendEvent(message);
    report('sent', { seq: i, result: result && result.constructor.name });
  }
  if (args.receive) {
    report('ready');
    return;
  }
  await client.close();
  report('closed');
  process.exit(0);
}

main().catch((err) => fail('leaf device', err));
