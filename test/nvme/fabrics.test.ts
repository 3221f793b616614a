import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CONNECT_DATA_SIZE, DISCOVERY_NQN, CATTR_DISABLE_SQ_FLOW, CNTLID_DYNAMIC, ConnectDataOff, FabricsOff,
  connectRecfmt, connectQid, connectSqsize, connectCattr, connectKato, connectDisablesSqFlow,
  decodeConnectCommand, encodeConnectCommand, decodeConnectData, encodeConnectData, uuidToBytes,
  bytesToUuid, connectResult, connectResultCntlid, connectResultAuthreq, connectInvalidParamResult,
  decodeConnectInvalidParam, propertyAttribSize, propertySizeAttrib, propAttrib, propOffset, propValue,
  decodePropertyCommand, encodePropertyGet, encodePropertySet, encodeDisconnect, decodeAuthCommand,
  encodeAuthCommand, AUTH_SECP_DHCHAP,
} from '../../src/nvme/fabrics.js';
import { FabricsType, FABRICS_OPCODE } from '../../src/nvme/opcodes.js';
import { sqeOpcode, sqeFctype, sqeCid, sqeDptrOffset } from '../../src/nvme/sqe.js';
import { writeInCapsuleSgl } from '../../src/nvme/sgl.js';
import { Reg } from '../../src/nvme/registers.js';
import { hex, toHex } from './hex.js';

// I/O queue Connect: cid 5, in-capsule SGL of 1024 bytes, qid 3, sqsize 127, CATTR
// disable-sqflow, kato 0.
const CONNECT_SQE = hex(`
  7f 40 05 00 01 00 00 00  00 00 00 00 00 00 00 00
  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
  00 04 00 00 00 00 00 01  00 00 03 00 7f 00 04 00
  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00`);

describe('Connect command', () => {
  it.each([
    ['opcode', () => sqeOpcode(CONNECT_SQE), FABRICS_OPCODE],
    ['fctype', () => sqeFctype(CONNECT_SQE), FabricsType.Connect],
    ['cid', () => sqeCid(CONNECT_SQE), 5],
    ['recfmt', () => connectRecfmt(CONNECT_SQE), 0],
    ['qid', () => connectQid(CONNECT_SQE), 3],
    ['sqsize (0-based)', () => connectSqsize(CONNECT_SQE), 127],
    ['cattr', () => connectCattr(CONNECT_SQE), CATTR_DISABLE_SQ_FLOW],
    ['disables sq flow', () => connectDisablesSqFlow(CONNECT_SQE), true],
    ['kato', () => connectKato(CONNECT_SQE), 0],
  ])('%s', (_n, f, want) => {
    expect(f()).toBe(want);
  });

  it('encode reproduces the known bytes (flags/DPTR filled the way a TCP host does)', () => {
    const b = new Uint8Array(64).fill(0x99);
    encodeConnectCommand(b, { cid: 5, qid: 3, sqsize: 127, cattr: CATTR_DISABLE_SQ_FLOW });
    b[1] = 0x40;
    writeInCapsuleSgl(b, 1024, 0, sqeDptrOffset());
    expect(toHex(b)).toBe(toHex(CONNECT_SQE));
  });

  it('admin Connect with kato, round trip', () => {
    const b = encodeConnectCommand(new Uint8Array(64), { cid: 0, qid: 0, sqsize: 31, kato: 120_000 });
    expect(toHex(b.subarray(40, 52))).toBe('0000' + '0000' + '1f00' + '00' + '00' + 'c0d40100');
    expect(decodeConnectCommand(b)).toEqual({ cid: 0, recfmt: 0, qid: 0, sqsize: 31, cattr: 0, kato: 120_000 });
    expect(FabricsOff.Kato).toBe(48);
  });
});

describe('Connect data', () => {
  const hostId = uuidToBytes('3fa85f64-5717-4562-b3fc-2c963f66afa6');

  it('layout: hostid @0, cntlid @16, subnqn @256, hostnqn @512, NUL padded', () => {
    const d = encodeConnectData({ hostId, cntlid: CNTLID_DYNAMIC, subnqn: 'nqn.2024-01.io.test:sub', hostnqn: 'nqn.host' });
    expect(d.length).toBe(CONNECT_DATA_SIZE);
    expect(toHex(d.subarray(0, 16))).toBe('3fa85f6457174562b3fc2c963f66afa6');
    expect(toHex(d.subarray(16, 18))).toBe('ffff');
    expect(d.subarray(18, 256).every((x) => x === 0)).toBe(true);
    expect(new TextDecoder().decode(d.subarray(256, 256 + 23))).toBe('nqn.2024-01.io.test:sub');
    expect(d[256 + 23]).toBe(0);
    expect(new TextDecoder().decode(d.subarray(512, 520))).toBe('nqn.host');
    expect(d.subarray(520, 1024).every((x) => x === 0)).toBe(true);
    expect(ConnectDataOff).toEqual({ HostId: 0, Cntlid: 16, SubNqn: 256, HostNqn: 512 });
  });

  it('decode of encode', () => {
    const c = { hostId, cntlid: 1, subnqn: DISCOVERY_NQN, hostnqn: 'nqn.2014-08.org.nvmexpress:uuid:3fa85f64' };
    expect(decodeConnectData(encodeConnectData(c))).toEqual(c);
  });

  it('NQN of 255 bytes fits, 256 does not (always NUL terminated)', () => {
    const n255 = 'n'.repeat(255);
    expect(decodeConnectData(encodeConnectData({ hostId, cntlid: 0, subnqn: n255, hostnqn: 'h' })).subnqn).toBe(n255);
    expect(() => encodeConnectData({ hostId, cntlid: 0, subnqn: 'n'.repeat(256), hostnqn: 'h' })).toThrow(RangeError);
    expect(() => encodeConnectData({ hostId: new Uint8Array(8), cntlid: 0, subnqn: 's', hostnqn: 'h' })).toThrow(RangeError);
  });

  it('decode of an unterminated 256-byte field reads the whole field', () => {
    const d = new Uint8Array(1024);
    d.fill(0x61, 256, 512);
    expect(decodeConnectData(d).subnqn).toBe('a'.repeat(256));
    expect(() => decodeConnectData(new Uint8Array(1023))).toThrow(RangeError);
  });

  it('uuid helpers', () => {
    expect(bytesToUuid(hostId)).toBe('3fa85f64-5717-4562-b3fc-2c963f66afa6');
    expect(() => uuidToBytes('zz')).toThrow(RangeError);
    fc.assert(fc.property(fc.uuid(), (u) => bytesToUuid(uuidToBytes(u)) === u.toLowerCase()));
  });
});

describe('Connect response', () => {
  it('success dw0 carries cntlid (and AUTHREQ)', () => {
    expect(connectResult(0x1234)).toBe(0x1234);
    expect(connectResult(1, 1)).toBe(0x10001);
    expect(connectResultCntlid(0x30001)).toBe(1);
    expect(connectResultAuthreq(0x30001)).toBe(3);
  });

  it('invalid-parameter dw0 = IATTR<<16 | IPO', () => {
    // like Linux IPO_IATTR_CONNECT_DATA(subsysnqn) / IPO_IATTR_CONNECT_SQE(qid)
    expect(connectInvalidParamResult(true, ConnectDataOff.SubNqn)).toBe(0x10100);
    expect(connectInvalidParamResult(false, FabricsOff.Qid)).toBe(42);
    expect(decodeConnectInvalidParam(0x10200)).toEqual({ inData: true, offset: 512 });
    expect(decodeConnectInvalidParam(44)).toEqual({ inData: false, offset: 44 });
  });
});

describe('Property Get/Set', () => {
  it('Property Get CAP (8 bytes), known bytes', () => {
    const b = encodePropertyGet(new Uint8Array(64).fill(0xaa), 9, Reg.Cap, 8);
    expect(toHex(b)).toBe('7f000900' + '04' + '00'.repeat(35) + '01000000' + '00000000' + '00'.repeat(16));
    expect(propAttrib(b)).toBe(1);
    expect(propOffset(b)).toBe(0);
    expect(decodePropertyCommand(b)).toEqual({ cid: 9, size: 8, offset: 0, value: 0n });
  });

  it('Property Set CC (4 bytes), known bytes', () => {
    const b = encodePropertySet(new Uint8Array(64), 2, Reg.Cc, 4, 0x0046_0001);
    expect(toHex(b)).toBe('7f000200' + '00' + '00'.repeat(35) + '00000000' + '14000000' + '0100460000000000' + '00'.repeat(8));
    expect(propValue(b)).toBe(0x0046_0001n);
    expect(decodePropertyCommand(b)).toEqual({ cid: 2, size: 4, offset: 0x14, value: 0x0046_0001n });
  });

  it('4-byte Property Set ignores upper value bits both ways', () => {
    const b = encodePropertySet(new Uint8Array(64), 1, Reg.Cc, 4, 0x1_0000_0001n);
    expect(propValue(b)).toBe(1n);
    b[52] = 0xff; // garbage in the upper half from a sloppy host
    expect(decodePropertyCommand(b).value).toBe(1n);
  });

  it('attrib size mapping', () => {
    expect(propertyAttribSize(0)).toBe(4);
    expect(propertyAttribSize(1)).toBe(8);
    expect(propertyAttribSize(0xf8)).toBe(4);
    expect(propertySizeAttrib(8)).toBe(1);
    expect(propertySizeAttrib(4)).toBe(0);
  });
});

describe('Disconnect and Authentication', () => {
  it('Disconnect', () => {
    const b = encodeDisconnect(new Uint8Array(64).fill(1), 0x77);
    expect(toHex(b)).toBe('7f007700' + '08' + '00'.repeat(59));
  });

  it('Auth Send/Receive round trip and layout', () => {
    const c = { cid: 3, fctype: FabricsType.AuthenticationSend, secp: AUTH_SECP_DHCHAP, spsp0: 0x01, spsp1: 0x01, length: 0x1234 } as const;
    const b = encodeAuthCommand(new Uint8Array(64), c);
    expect(toHex(b.subarray(40, 48))).toBe('000101e9' + '34120000');
    expect(decodeAuthCommand(b)).toEqual(c);
    const r = { ...c, fctype: FabricsType.AuthenticationReceive } as const;
    expect(decodeAuthCommand(encodeAuthCommand(new Uint8Array(64), r))).toEqual(r);
  });
});
