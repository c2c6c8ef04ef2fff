// An OPC UA server on node-opcua, the foreign peer of the opcua driver's
// integration tests (nodeopcua_test.go) and of BenchmarkOPCUA10k.
//
//   node server.mjs PORT PKIDIR
//
// PORT 0 picks a free port. PKIDIR holds the server's certificate and key
// (made on first start and kept, so a restarted server keeps its identity)
// and the client certificates it saw (all accepted). The endpoint is
// opc.tcp://HOST:PORT, HOST from $OPCUA_HOSTNAME (default localhost): the
// name the server advertises in its endpoint descriptions. With $BENCH_ITEMS
// set it also serves that many Double variables ns=2;s=Bench.<i> that all
// change every $BENCH_PERIOD_MS (default 100).
//
// It prints "ready PORT" when it listens, and stops on SIGTERM or when its
// stdin closes (so it does not outlive the test that started it).
//
// Address space (namespace urn:edgehmi:nodeopcua, index 2), in the folder
// Objects/Plant:
//   s=Bool, s=SByte, s=Byte, s=Int16, s=UInt16, s=Int32, s=UInt32, s=Int64,
//   s=UInt64, s=Float, s=Double, s=String, s=DateTime: one of each type,
//     writable, with fixed initial values;
//   s=Array: Double[5] = 1.5, 2.5, 3.5, 4.5, 5.5, writable;
//   s=Setpoint: writable Double, 0..100 (a write above 100 is BadOutOfRange);
//   s=ReadOnly: Double, not writable (BadNotWritable);
//   s=UserReadOnly: Double, writable but not by users (BadUserAccessDenied);
//   s=Counter: Double, +1 every 100 ms;
//   s=Fine: Double, +0.01 every 100 ms and +10 every 10th step;
//   s=Level: AnalogItem Double with EURange 0..100, +1 every 100 ms,
//     wrapping from 100 to 0.
// Users: anonymous, and operator / secret.
import {
  OPCUAServer,
  OPCUACertificateManager,
  Variant,
  DataType,
  VariantArrayType,
  StatusCodes,
  SecurityPolicy,
  MessageSecurityMode,
} from "node-opcua";

const port = Number(process.argv[2] ?? 0);
const pkiDir = process.argv[3];
if (!pkiDir) {
  console.error("usage: node server.mjs PORT PKIDIR");
  process.exit(2);
}
const hostname = process.env.OPCUA_HOSTNAME || "localhost";
const benchItems = Number(process.env.BENCH_ITEMS || 0);
const benchPeriod = Number(process.env.BENCH_PERIOD_MS || 100);

const serverCertificateManager = new OPCUACertificateManager({
  rootFolder: pkiDir,
  automaticallyAcceptUnknownCertificate: true,
});

const server = new OPCUAServer({
  port,
  hostname,
  resourcePath: "",
  securityPolicies: [
    SecurityPolicy.None,
    SecurityPolicy.Basic256Sha256,
    SecurityPolicy.Aes128_Sha256_RsaOaep,
    SecurityPolicy.Aes256_Sha256_RsaPss,
  ],
  securityModes: [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt],
  allowAnonymous: true,
  userManager: { isValidUser: (user, password) => user === "operator" && password === "secret" },
  serverCertificateManager,
  disableDiscovery: true,
  serverInfo: { applicationUri: "urn:edgehmi:nodeopcua:server", productUri: "urn:edgehmi:nodeopcua" },
  serverCapabilities: {
    maxSessions: 100,
    operationLimits: { maxMonitoredItemsPerCall: 20000, maxNodesPerRead: 20000, maxNodesPerWrite: 1000 },
  },
  maxConnectionsPerEndpoint: 100,
});

await server.initialize();
const addressSpace = server.engine.addressSpace;
const ns = addressSpace.registerNamespace("urn:edgehmi:nodeopcua");
const plant = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Plant", nodeId: "s=Plant" });

const readWrite = "CurrentRead | CurrentWrite";
function variable(name, dataType, value, opts = {}) {
  return ns.addVariable({
    componentOf: plant,
    browseName: name,
    nodeId: "s=" + name,
    dataType,
    accessLevel: opts.accessLevel ?? readWrite,
    userAccessLevel: opts.userAccessLevel ?? readWrite,
    valueRank: opts.valueRank,
    arrayDimensions: opts.arrayDimensions,
    value: opts.getset ?? { dataType: DataType[dataType], arrayType: VariantArrayType.Scalar, value },
    minimumSamplingInterval: 50,
  });
}

const scalars = {
  Bool: ["Boolean", true],
  SByte: ["SByte", -100],
  Byte: ["Byte", 200],
  Int16: ["Int16", -5],
  UInt16: ["UInt16", 65000],
  Int32: ["Int32", -70000],
  UInt32: ["UInt32", 4000000000],
  Int64: ["Int64", [0xffffff00, 0]], // -1 << 40, as node-opcua's [high, low]
  UInt64: ["UInt64", [0x10000000, 0]], // 1 << 60
  Float: ["Float", 1.5],
  Double: ["Double", 2.25],
  String: ["String", "hello"],
  DateTime: ["DateTime", new Date("2024-05-01T12:30:00.123Z")],
};
for (const [name, [type, value]] of Object.entries(scalars)) {
  variable(name, type, value);
}
variable("Array", "Double", null, {
  valueRank: 1,
  arrayDimensions: [5],
  getset: {
    dataType: DataType.Double,
    arrayType: VariantArrayType.Array,
    value: new Float64Array([1.5, 2.5, 3.5, 4.5, 5.5]),
  },
});
let setpoint = 50;
variable("Setpoint", "Double", null, {
  getset: {
    get: () => new Variant({ dataType: DataType.Double, value: setpoint }),
    set: (v) => {
      if (v.dataType !== DataType.Double) return StatusCodes.BadTypeMismatch;
      if (v.value < 0 || v.value > 100) return StatusCodes.BadOutOfRange;
      setpoint = v.value;
      return StatusCodes.Good;
    },
  },
});
variable("ReadOnly", "Double", 7, { accessLevel: "CurrentRead", userAccessLevel: "CurrentRead" });
variable("UserReadOnly", "Double", 8, { userAccessLevel: "CurrentRead" });

const counter = variable("Counter", "Double", 0);
const fine = variable("Fine", "Double", 0);
const level = ns.addAnalogDataItem({
  componentOf: plant,
  browseName: "Level",
  nodeId: "s=Level",
  dataType: "Double",
  engineeringUnitsRange: { low: 0, high: 100 },
  accessLevel: readWrite,
  userAccessLevel: readWrite,
  value: { dataType: DataType.Double, value: 0 },
  minimumSamplingInterval: 50,
});

let step = 0;
const ticker = setInterval(() => {
  step++;
  const now = new Date();
  const set = (node, value) =>
    node.setValueFromSource(new Variant({ dataType: DataType.Double, value }), StatusCodes.Good, now);
  set(counter, step);
  set(fine, Math.round((step * 0.01 + Math.floor(step / 10) * 10) * 100) / 100);
  set(level, step % 101);
}, 100);

let benchTicker;
if (benchItems > 0) {
  const folder = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Bench", nodeId: "s=Bench" });
  const nodes = [];
  for (let i = 0; i < benchItems; i++) {
    nodes.push(
      ns.addVariable({
        componentOf: folder,
        browseName: "Bench." + i,
        nodeId: "s=Bench." + i,
        dataType: "Double",
        value: { dataType: DataType.Double, value: 0 },
        minimumSamplingInterval: 0,
      }),
    );
  }
  let n = 0;
  benchTicker = setInterval(() => {
    n++;
    const now = new Date();
    for (let i = 0; i < nodes.length; i++) {
      nodes[i].setValueFromSource(new Variant({ dataType: DataType.Double, value: n * 100000 + i }), StatusCodes.Good, now);
    }
  }, benchPeriod);
}

await server.start();
console.log("ready " + server.endpoints[0].port);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(ticker);
  clearInterval(benchTicker);
  await server.shutdown(0);
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
