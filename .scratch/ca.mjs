// src/adapters/pki/openssl-ca.ts
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
var run = promisify(execFile);
var CaError = class extends Error {
};
var caFiles = (dir2) => ({
  key: join(dir2, "ca.key"),
  cert: join(dir2, "ca.pem"),
  crl: join(dir2, "crl.pem"),
  config: join(dir2, "openssl.cnf")
});
var OPENSSL_TIMEOUT_MS = 3e4;
var openssl = async (args, what, san = "DNS:unused") => {
  try {
    return (await run("openssl", args, { timeout: OPENSSL_TIMEOUT_MS, maxBuffer: 1 << 20, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", OPL_CERT_SAN: san } })).stdout;
  } catch (error) {
    const e = error;
    if (e.code === "ENOENT") throw new CaError(`${what}: the 'openssl' program is not installed (Debian package openssl)`);
    const detail = (e.stderr ?? e.message).trim().split("\n").filter(Boolean).slice(-1)[0] ?? e.message;
    throw new CaError(`${what}: openssl failed: ${detail}`);
  }
};
var configText = (dir2) => `[ ca ]
default_ca = opl
[ opl ]
dir = ${dir2}
database = $dir/index.txt
new_certs_dir = $dir/issued
certificate = $dir/ca.pem
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 825
default_crl_days = 3650
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ node ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $ENV::OPL_CERT_SAN
[ client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
`;
var createClusterCa = async (dir2, clusterName) => {
  const files = caFiles(dir2);
  if (existsSync(files.key)) throw new CaError(`a certificate authority already exists in ${dir2}`);
  mkdirSync(join(dir2, "issued"), { recursive: true, mode: 448 });
  writeFileSync(join(dir2, "index.txt"), "");
  writeFileSync(join(dir2, "serial"), "1000\n");
  writeFileSync(join(dir2, "crlnumber"), "1000\n");
  writeFileSync(files.config, configText(dir2));
  await openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      files.key,
      "-out",
      files.cert,
      "-days",
      "3650",
      "-subj",
      `/O=opledger/CN=opledger cluster ${clusterName} CA`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign"
    ],
    "making the cluster certificate authority"
  );
  chmodSync(files.key, 384);
  await writeCrl(dir2);
};
var writeCrl = async (dir2) => {
  const files = caFiles(dir2);
  await openssl(["ca", "-batch", "-config", files.config, "-gencrl", "-out", files.crl], "writing the revocation list");
};
var makeKeyAndRequest = async (commonName) => {
  const scratch = mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "opl-csr-"));
  try {
    const [key, csr] = [join(scratch, "key.pem"), join(scratch, "req.pem")];
    await openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${commonName}`], "making a key");
    return { keyPem: readFileSync(key, "utf8"), csrPem: readFileSync(csr, "utf8") };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};
var subjectAltName = (names) => names.map((n) => /^[0-9.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`).join(",");
var issueCertificate = async (dir2, request) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(request.commonName)) throw new CaError(`'${request.commonName}' cannot name a certificate (letters, digits, '.', '_', '-')`);
  const files = caFiles(dir2);
  const scratch = mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "opl-issue-"));
  try {
    const [csr, cert2] = [join(scratch, "req.pem"), join(scratch, "cert.pem")];
    writeFileSync(csr, request.csrPem);
    const validity = request.startDate && request.endDate ? ["-startdate", request.startDate, "-enddate", request.endDate] : [];
    const names = request.names?.length ? request.names : [request.commonName];
    await openssl(
      ["ca", "-batch", "-config", files.config, "-in", csr, "-out", cert2, "-notext", "-subj", `/CN=${request.commonName}`, "-extensions", request.kind, ...validity],
      `certifying ${request.kind} '${request.commonName}'`,
      subjectAltName(names)
    );
    return readFileSync(cert2, "utf8");
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};
var revokeCertificate = async (dir2, certPem) => {
  const scratch = mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "opl-revoke-"));
  try {
    const cert2 = join(scratch, "cert.pem");
    writeFileSync(cert2, certPem);
    await openssl(["ca", "-batch", "-config", caFiles(dir2).config, "-revoke", cert2], "revoking a certificate");
    await writeCrl(dir2);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};

// .scratch/ca.ts
import { X509Certificate } from "node:crypto";
import { readFileSync as readFileSync2 } from "node:fs";
var dir = "/tmp/ca-test-" + process.pid;
await createClusterCa(dir, "c1");
var { keyPem, csrPem } = await makeKeyAndRequest("n1");
var cert = await issueCertificate(dir, { csrPem, commonName: "n1", kind: "node", names: ["n1", "10.0.0.1"] });
var x = new X509Certificate(cert);
console.log(x.subject, x.subjectAltName, x.validTo, x.checkIssued(new X509Certificate(readFileSync2(caFiles(dir).cert))));
var old = await issueCertificate(dir, { csrPem, commonName: "n2", kind: "client", startDate: "20200101000000Z", endDate: "20200102000000Z" });
console.log(new X509Certificate(old).validTo);
await revokeCertificate(dir, cert);
console.log(readFileSync2(caFiles(dir).crl, "utf8").slice(0, 40));
