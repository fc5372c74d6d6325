// A Proxmox API client scenario with the npm package proxmox-api, for the
// hvbastion tests: log in (with Proxmox's TFA second step when asked),
// list, start and stop a VM, change its config.  One JSON line per step on
// stdout: {"step": ..., "ok": true|false, ...}; exit status 0 when every
// step succeeded, 1 otherwise, 2 on a usage error.
//
// Environment:
//   HVB_API_URL           https://HOST:PORT (a path is ignored)
//   HVB_API_USER          user@realm, as typed at login
//   HVB_API_PASSWORD      its password
//   HVB_API_TOTP_SECRET   base32 TOTP secret (the code is computed), or
//   HVB_API_TOTP_CODE     a TOTP code as typed
//   HVB_API_TOKEN_ID      instead of user/password: USER@REALM!TOKENID
//   HVB_API_TOKEN_SECRET  and its UUID secret
//   HVB_API_VMID          the VM to operate (default: the first qemu guest
//                         the caller may see)
//   HVB_API_STEPS         comma-separated steps (default: login, version,
//                         resources, nodes, qemu, status, power, config);
//                         also "get:/PATH" and "post:/PATH" (a call under
//                         /api2/json, reported with its HTTP status)
//   NODE_EXTRA_CA_CERTS   the server's certificate (Node's own variable)
//
// proxmox-api 1.1.1 logs in with username and password only: it keeps the
// ticket and CSRF token of the answer and ignores "NeedTFA".  The second
// step is therefore made here with the package's own request mechanism
// (POST access/ticket with tfa-challenge and password=totp:CODE through
// the API proxy), and its ticket and CSRF token are put back into the
// package's engine (its public fields ticket and CSRFPreventionToken).
// The engine's documented `fetch` option is used to see the login
// answer's NeedTFA flag; the requests are still made by the package's
// undici fetch.

import { createHmac } from 'node:crypto';
import { fetch as undiciFetch } from 'undici';
import { proxmoxApi, ProxmoxEngine } from 'proxmox-api';

const env = process.env;
let failures = 0;

function out(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
    if (!obj.ok)
        failures++;
}

function statusOf(err) {
    // the package's messages: "... return Error 403 ...", "... failed
    // with 403 ...", "login failed with 401: ..."
    const msgs = [err.message];
    for (let e = err.cause; e; e = e.cause)
        msgs.push(String(e.message || e));
    for (const m of msgs) {
        const r = /(?:Error|failed with) (\d{3})\b/.exec(m);
        if (r)
            return Number(r[1]);
    }
    return null;
}

function errorLine(step, err, more = {}) {
    const msgs = [err.message];
    for (let e = err.cause; e; e = e.cause)
        msgs.push(String(e.message || e));
    out({ step, ok: false, status: statusOf(err), error: msgs.join(' <- '),
          ...more });
}

function base32Decode(s) {
    const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    let bits = 0, value = 0;
    const bytes = [];
    for (const ch of s.toUpperCase().replace(/[\s=]/g, '')) {
        const i = alpha.indexOf(ch);
        if (i < 0)
            throw Error('bad base32 secret');
        value = (value << 5) | i;
        bits += 5;
        if (bits >= 8) {
            bytes.push((value >>> (bits - 8)) & 0xff);
            bits -= 8;
        }
    }
    return Buffer.from(bytes);
}

function totp(secret, t = Date.now() / 1000) {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(Math.floor(t / 30)));
    const mac = createHmac('sha1', base32Decode(secret)).update(counter)
        .digest();
    const off = mac[mac.length - 1] & 0x0f;
    const v = (mac.readUInt32BE(off) & 0x7fffffff) % 1000000;
    return String(v).padStart(6, '0');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
    if (!env.HVB_API_URL) {
        process.stderr.write('HVB_API_URL is required\n');
        return 2;
    }
    const url = new URL(env.HVB_API_URL);
    const common = {
        host: url.hostname,
        port: url.port ? Number(url.port) : 8006,
        schema: url.protocol === 'http:' ? 'http' : 'https',
        authTimeout: 15000,
        queryTimeout: 30000,
    };
    // the login answer, seen through the engine's fetch option
    let lastLogin = null;
    const fetch = async (u, init) => {
        const res = await undiciFetch(u, init);
        if (String(u).endsWith('/access/ticket') && init?.method === 'POST') {
            try {
                lastLogin = { status: res.status,
                              body: await res.clone().json() };
            } catch (e) {
                lastLogin = { status: res.status, body: null };
            }
        }
        return res;
    };
    let engine;
    const tokenMode = Boolean(env.HVB_API_TOKEN_ID);
    if (tokenMode) {
        engine = new ProxmoxEngine({ ...common, fetch,
                                     tokenID: env.HVB_API_TOKEN_ID,
                                     tokenSecret: env.HVB_API_TOKEN_SECRET });
    } else {
        engine = new ProxmoxEngine({ ...common, fetch,
                                     username: env.HVB_API_USER,
                                     password: env.HVB_API_PASSWORD });
    }
    const pve = proxmoxApi(engine);
    const steps = (env.HVB_API_STEPS ||
                   'login,version,resources,nodes,qemu,status,power,config')
        .split(',').map((s) => s.trim()).filter(Boolean);

    let vm = null;      // {vmid, node, status}

    async function findVm() {
        if (vm)
            return vm;
        const res = await pve.cluster.resources.$get({ type: 'vm' });
        const want = env.HVB_API_VMID ? Number(env.HVB_API_VMID) : null;
        const e = res.find((r) => r.type === 'qemu' &&
                                  (want === null || r.vmid === want));
        if (!e)
            throw Error('no such VM in cluster/resources');
        vm = { vmid: e.vmid, node: e.node, status: e.status };
        return vm;
    }

    async function waitTask(node, upid) {
        for (let i = 0; i < 100; i++) {
            const st = await pve.nodes.$(node).tasks.$(upid).status.$get();
            if (st.status === 'stopped')
                return st;
            await sleep(100);
        }
        throw Error('task did not end: ' + upid);
    }

    async function power(action) {
        const v = await findVm();
        const q = pve.nodes.$(v.node).qemu.$(v.vmid);
        const upid = await q.status[action].$post();
        const st = await waitTask(v.node, upid);
        const cur = await q.status.current.$get();
        v.status = cur.status;
        out({ step: action, ok: st.exitstatus === 'OK', vmid: v.vmid,
              node: v.node, upid, exitstatus: st.exitstatus,
              status: cur.status });
    }

    for (const step of steps) {
        try {
            if (step === 'login') {
                if (tokenMode) {
                    out({ step, ok: true, token: env.HVB_API_TOKEN_ID });
                    continue;
                }
                await engine.getTicket();
                const first = lastLogin?.body?.data || {};
                const needTFA = first.NeedTFA === 1;
                if (needTFA) {
                    const code = env.HVB_API_TOTP_CODE ||
                        (env.HVB_API_TOTP_SECRET &&
                         totp(env.HVB_API_TOTP_SECRET));
                    if (!code)
                        throw Error('the server asks for TFA and no TOTP ' +
                                    'secret or code was given');
                    const data = await pve.access.ticket.$post({
                        username: env.HVB_API_USER,
                        password: 'totp:' + code,
                        'tfa-challenge': engine.ticket,
                    });
                    engine.ticket = data.ticket;
                    engine.CSRFPreventionToken = data.CSRFPreventionToken;
                    out({ step, ok: true, needTFA, username: data.username,
                          cap: Object.keys(data.cap || {}).sort() });
                } else {
                    out({ step, ok: true, needTFA, username: first.username,
                          cap: Object.keys(first.cap || {}).sort() });
                }
            } else if (step === 'version') {
                const v = await pve.version.$get();
                out({ step, ok: true, version: v.version, release: v.release });
            } else if (step === 'resources') {
                const res = await pve.cluster.resources.$get();
                out({ step, ok: true, ids: res.map((r) => r.id) });
            } else if (step === 'nodes') {
                const res = await pve.nodes.$get();
                out({ step, ok: true, nodes: res.map((n) => n.node) });
            } else if (step === 'qemu') {
                const v = await findVm();
                const res = await pve.nodes.$(v.node).qemu.$get();
                out({ step, ok: true, node: v.node,
                      vmids: res.map((r) => r.vmid).sort((a, b) => a - b) });
            } else if (step === 'status') {
                const v = await findVm();
                const cur = await pve.nodes.$(v.node).qemu.$(v.vmid).status
                    .current.$get();
                v.status = cur.status;
                out({ step, ok: true, vmid: v.vmid, node: v.node,
                      status: cur.status });
            } else if (step === 'power') {
                // stop and start, or start and stop: ends as it began
                const v = await findVm();
                if (v.status === 'running') {
                    await power('stop');
                    await power('start');
                } else {
                    await power('start');
                    await power('stop');
                }
            } else if (step === 'start' || step === 'stop' ||
                       step === 'shutdown' || step === 'reboot') {
                await power(step);
            } else if (step === 'config') {
                const v = await findVm();
                const q = pve.nodes.$(v.node).qemu.$(v.vmid).config;
                const before = await q.$get();
                const description = 'hvb-scenario ' + Date.now();
                const r = await q.$put({ description, digest: before.digest });
                const after = await q.$get();
                out({ step, ok: r === null &&
                          after.description === description,
                      vmid: v.vmid, description: after.description });
            } else if (step.startsWith('get:') || step.startsWith('post:')) {
                const [method, path] = [step.slice(0, step.indexOf(':')),
                                        step.slice(step.indexOf(':') + 1)];
                const data = await engine.doRequest(method.toUpperCase(),
                                                    '/api2/json' + path,
                                                    '/api2/json' + path, {});
                out({ step, ok: true, status: 200, data });
            } else {
                out({ step, ok: false, error: 'unknown step' });
            }
        } catch (e) {
            errorLine(step, e);
            if (step === 'login')
                break;
        }
    }
    return failures ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
    process.stderr.write(String(e && e.stack || e) + '\n');
    process.exit(2);
});
