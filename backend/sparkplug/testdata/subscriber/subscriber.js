// The foreign peer of the Sparkplug B integration tests: an MQTT client
// (npm mqtt) that subscribes to spBv1.0/# and prints every message as one
// JSON line, its payload decoded by the reference decoder
// (sparkplug-payload). With a host id it is that primary host application:
// after each (re)connect it publishes STATE online (retained), with
// STATE offline as its will.
//
//   node subscriber.js mqtt://127.0.0.1:PORT [HOST_ID]
//
// Lines on stdin are commands: {"topic": T, "metrics": [...]} publishes a
// Sparkplug payload (encoded by sparkplug-payload); {"state": false}
// publishes STATE offline. Output: {"event":"ready"} after every
// subscription, then {"topic","type","device","seq","timestamp","metrics"}.
import mqtt from 'mqtt';
import sparkplug from 'sparkplug-payload';
import readline from 'node:readline';

const [url, host] = process.argv.slice(2);
const sp = sparkplug.get('spBv1.0');
const stateTopic = host ? `spBv1.0/STATE/${host}` : '';
const opts = { clean: true, reconnectPeriod: 100, connectTimeout: 2000, clientId: `edgehmi-test-${process.pid}` };
if (host) opts.will = { topic: stateTopic, payload: JSON.stringify({ online: false, timestamp: Date.now() }), qos: 1, retain: true };
const client = mqtt.connect(url, opts);

// Longs (uint64 fields) as numbers.
const plain = (v) => {
  if (v && typeof v === 'object') {
    if (typeof v.toNumber === 'function' && 'low' in v && 'high' in v) return v.toNumber();
    if (Array.isArray(v)) return v.map(plain);
    if (v instanceof Uint8Array) return Array.from(v);
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x);
    return o;
  }
  return v;
};
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

client.on('connect', () => {
  client.subscribe('spBv1.0/#', { qos: 0 }, (err) => {
    if (err) return out({ event: 'error', error: String(err) });
    const ready = () => out({ event: 'ready' });
    if (!host) return ready();
    client.publish(stateTopic, JSON.stringify({ online: true, timestamp: Date.now() }), { qos: 1, retain: true }, ready);
  });
});
client.on('error', (err) => out({ event: 'error', error: String(err) }));
client.on('close', () => out({ event: 'close' }));
client.on('message', (topic, payload) => {
  const parts = topic.split('/');
  if (parts[1] === 'STATE') return out({ topic, type: 'STATE', state: JSON.parse(payload.toString()) });
  let p;
  try {
    p = plain(sp.decodePayload(payload));
  } catch (e) {
    return out({ topic, type: parts[2], error: String(e) });
  }
  out({ topic, type: parts[2], device: parts[4] ?? '', seq: p.seq ?? null, timestamp: p.timestamp ?? null, metrics: p.metrics ?? [] });
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.state === false) {
    client.publish(stateTopic, JSON.stringify({ online: false, timestamp: Date.now() }), { qos: 1, retain: true });
    return;
  }
  client.publish(cmd.topic, Buffer.from(sp.encodePayload({ timestamp: Date.now(), metrics: cmd.metrics })), { qos: 0 });
}).on('close', () => client.end(true, () => process.exit(0)));
