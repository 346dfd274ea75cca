// What the SDK role scripts share: one JSON line per thing that happened (sdk_test.cc reads
// them), `--flag value` arguments, and a lifetime after which a script gives up on its own so a
// test that dies never leaves it running.
'use strict';

// Prints one event as a JSON line on stdout: {"event": name, ...fields}.
function report(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event: event }, fields || {})) + '\n');
}

// Reports an error (its name, message and, for a transport error, the wrapped cause) and exits 1.
function fail(what, err) {
  report('error', {
    what: what,
    name: err && err.name,
    message: err && err.message,
    cause: err && err.transportError ? String(err.transportError) : undefined,
  });
  process.exit(1);
}

// `--name value` pairs into {name: [values]}; flags without a value (followed by another flag or
// nothing) are [true].
function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; ++i) {
    if (!argv[i].startsWith('--')) throw new Error('unexpected argument ' + argv[i]);
    const name = argv[i].slice(2);
    const value = i + 1 < argv.length && !argv[i + 1].startsWith('--') ? argv[++i] : true;
    (args[name] = args[name] || []).push(value);
  }
  return args;
}

// "k=v" → ["k", "v"].
function keyValue(text) {
  const at = text.indexOf('=');
  if (at <= 0) throw new Error('expected key=value, got ' + text);
  return [text.slice(0, at), text.slice(at + 1)];
}

// The application properties of an SDK Message as a plain object.
function propertiesOf(message) {
  const properties = {};
  for (const p of message.properties.propertyList) properties[p.key] = p.value;
  return properties;
}

// Exits 3 after `seconds`, reporting it; and closes `client` on SIGTERM/SIGINT, then exits 0.
function lifetime(seconds, closeClient) {
  const timer = setTimeout(() => {
    report('lifetime_over', { seconds: seconds });
    process.exit(3);
  }, seconds * 1000);
  const stop = () => {
    clearTimeout(timer);
    const closed = () => {
      report('closed');
      process.exit(0);
    };
    closeClient(closed);
    setTimeout(closed, 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

module.exports = { report, fail, parseArgs, keyValue, propertiesOf, lifetime };
