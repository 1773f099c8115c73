// A node-opcua server for the OPC UA connector tests: a stack PlantOS is not built with.
// Usage: node server.js PORT GENERATION PKI_FOLDER. Every value carries GENERATION, so a test
// can tell the values of a restarted server from those of the one before. The server makes
// its own certificate in PKI_FOLDER and trusts no client certificate it has not been given
// there (trusted/certs). It offers security None and Basic256Sha256 Sign/SignAndEncrypt.
// Prints "ready" once listening; stops on SIGTERM.
"use strict";
const path = require("path");
const {
  OPCUACertificateManager,
  OPCUAServer,
  DataType,
  MessageSecurityMode,
  SecurityPolicy,
  standardUnits,
  Variant,
  VariantArrayType,
} = require("node-opcua");

async function main() {
  const port = Number(process.argv[2]);
  const generation = Number(process.argv[3] || "1");
  const pki = process.argv[4];
  const manager = (folder) =>
    new OPCUACertificateManager({
      rootFolder: path.join(pki, folder),
      automaticallyAcceptUnknownCertificate: false,
    });
  const server = new OPCUAServer({
    port,
    resourcePath: "/plantos",
    allowAnonymous: true,
    serverCertificateManager: manager("server"),
    userCertificateManager: manager("user"),
    securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
    securityModes: [
      MessageSecurityMode.None,
      MessageSecurityMode.Sign,
      MessageSecurityMode.SignAndEncrypt,
    ],
  });
  await server.initialize();
  const namespace = server.engine.addressSpace.getOwnNamespace();
  const machine = namespace.addObject({
    organizedBy: server.engine.addressSpace.rootFolder.objects,
    browseName: "Machine",
  });
  const variables = [
    ["Text", DataType.String, `lot-${generation}`],
    // 64-bit integers are [high, low] 32-bit words in node-opcua.
    // 2**53 + generation: beyond what a float64 holds exactly
    ["BigInt", DataType.Int64, [0x200000, generation]],
    // 2**64 - generation: the top of UInt64
    ["Counter", DataType.UInt64, [0xffffffff, 0x100000000 - generation]],
    ["Running", DataType.Boolean, generation % 2 === 1],
    ["Speed", DataType.Double, 1000.5 + generation],
  ];
  for (const [name, dataType, value] of variables) {
    namespace.addVariable({
      componentOf: machine,
      browseName: name,
      nodeId: `s=${name}`,
      dataType,
      value: new Variant({ dataType, arrayType: VariantArrayType.Scalar, value }),
    });
  }
  // an AnalogItem: its EngineeringUnits and EURange properties describe it
  namespace.addAnalogDataItem({
    componentOf: machine,
    browseName: "Temperature",
    nodeId: "s=Temperature",
    dataType: "Double",
    engineeringUnitsRange: { low: 0, high: 300 },
    engineeringUnits: standardUnits.degree_celsius,
    value: new Variant({ dataType: DataType.Double, value: 21.5 }),
  });
  await server.start();
  process.stdout.write(`ready ns=${namespace.index}\n`);
  process.on("SIGTERM", async () => {
    await server.shutdown(0);
    process.exit(0);
  });
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
