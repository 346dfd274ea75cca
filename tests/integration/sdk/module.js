// An IoT Edge module written as any SDK user would: ModuleClient.fromEnvironment over MQTT, which
// reads EdgeHubConnectionString (HostName=…;GatewayHostName=…;DeviceId=…;ModuleId=…;
// SharedAccessKey=…) and the hub's CA from EdgeModuleCACertificateFile. Prints one JSON line per
// thing that happened (report.js).
//
//   node module.js [--input]                 report every input message ("input"), completing it
//                  [--method NAME --status N] answer direct method NAME with status N and
//                                            {"method": NAME, "request": <its payload>} ("method")
//                  [--twin]                  getTwin ("twin"), then every desired-properties
//                                            event ("desired")
//                  [--report JSON]           with --twin: a reported patch ("reported")
//                  [--output NAME --body TEXT [--prop k=v]... [--message-id ID]
//                   [--content-type T]]      send one message on output NAME ("sent")
//                  [--lifetime SECONDS]      exit 3 after this long (default 60)
//
// "ready" follows once every requested step has been started and the one-shot ones are done.
// SIGTERM closes the client ("closed") and exits 0. Any SDK error: "error" and exit 1.
'use strict';

const { ModuleClient, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');
const { report, fail, parseArgs, keyValue, propertiesOf, lifetime } = require('./report');

const args = parseArgs(process.argv.slice(2));
const one = (name, fallback) => (args[name] ? args[name][0] : fallback);

async function main() {
  const client = await ModuleClient.fromEnvironment(Mqtt);
  lifetime(Number(one('lifetime', 60)), (done) => client.close(() => done()));
  client.on('error', (err) => fail('client', err));
  client.on('disconnect', () => report('disconnected'));
  await client.open();
  report('connected');

  if (args.input) {
    client.on('inputMessage', (inputName, message) => {
      report('input', {
        input: inputName,
        body: message.getBytes().toString(),
        properties: propertiesOf(message),
        messageId: message.messageId,
        contentType: message.contentType,
      });
      client.complete(message, (err) => err && fail('complete', err));
    });
  }

  if (args.method) {
    const name = one('method');
    const status = Number(one('status', 200));
    client.onMethod(name, (request, response) => {
      report('method', { method: request.methodName, payload: request.payload });
      response.send(status, { method: request.methodName, request: request.payload }, (err) => {
        if (err) fail('method response', err);
        report('method_answered', { method: request.methodName, status: status });
      });
    });
  }

  if (args.twin) {
    const twin = await client.getTwin();
    report('twin', { desired: twin.properties.desired, reported: twin.properties.reported });
    // Fires at once with the desired properties the twin already has, then with every patch.
    twin.on('properties.desired', (patch) => report('desired', { patch: patch }));
    twin.on('error', (err) => fail('twin', err));
    if (args.report) {
      const patch = JSON.parse(one('report'));
      await new Promise((resolve) => {
        twin.properties.reported.update(patch, (err) => {
          if (err) fail('reported update', err);
          report('reported', { patch: patch, reported: twin.properties.reported });
          resolve();
        });
      });
    }
  }

  if (args.output) {
    const message = new Message(one('body', ''));
    for (const prop of args.prop || []) message.properties.add(...keyValue(prop));
    if (args['message-id']) message.messageId = one('message-id');
    if (args['content-type']) message.contentType = one('content-type');
    const result = await client.sendOutputEvent(one('output'), message);
    report('sent', { output: one('output'), result: result && result.constructor.name });
  }

  report('ready');
}

main().catch((err) => fail('module', err));
