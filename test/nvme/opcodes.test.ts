import { describe, expect, it } from 'vitest';
import {
  AdminOpcode, IoOpcode, FabricsType, FABRICS_OPCODE, XferDir, opcodeXferDir,
  adminOpcodeName, ioOpcodeName, fabricsTypeName, commandName,
} from '../../src/nvme/opcodes.js';

describe('opcodes', () => {
  it.each([
    [AdminOpcode.GetLogPage, 0x02],
    [AdminOpcode.Identify, 0x06],
    [AdminOpcode.Abort, 0x08],
    [AdminOpcode.SetFeatures, 0x09],
    [AdminOpcode.GetFeatures, 0x0a],
    [AdminOpcode.AsyncEventRequest, 0x0c],
    [AdminOpcode.KeepAlive, 0x18],
    [IoOpcode.Flush, 0x00],
    [IoOpcode.Write, 0x01],
    [IoOpcode.Read, 0x02],
    [IoOpcode.WriteZeroes, 0x08],
    [IoOpcode.DatasetManagement, 0x09],
    [FABRICS_OPCODE, 0x7f],
    [FabricsType.PropertySet, 0x00],
    [FabricsType.Connect, 0x01],
    [FabricsType.PropertyGet, 0x04],
    [FabricsType.AuthenticationSend, 0x05],
    [FabricsType.AuthenticationReceive, 0x06],
    [FabricsType.Disconnect, 0x08],
  ])('value %i is %i', (got, want) => {
    expect(got).toBe(want);
  });

  it.each([
    [IoOpcode.Write, XferDir.HostToCtrl],
    [IoOpcode.Read, XferDir.CtrlToHost],
    [IoOpcode.Flush, XferDir.None],
    [IoOpcode.DatasetManagement, XferDir.HostToCtrl],
    [IoOpcode.WriteZeroes, XferDir.None],
    [AdminOpcode.Identify, XferDir.CtrlToHost],
    [AdminOpcode.GetLogPage, XferDir.CtrlToHost],
    [AdminOpcode.SetFeatures, XferDir.HostToCtrl],
    [AdminOpcode.KeepAlive, XferDir.None],
    [FabricsType.Connect, XferDir.HostToCtrl],
    [FabricsType.PropertyGet, XferDir.None],
    [FabricsType.AuthenticationSend, XferDir.HostToCtrl],
    [FabricsType.AuthenticationReceive, XferDir.CtrlToHost],
  ])('transfer direction of 0x%s', (op, dir) => {
    expect(opcodeXferDir(op)).toBe(dir);
  });

  it('names', () => {
    expect(adminOpcodeName(0x06)).toBe('Identify');
    expect(adminOpcodeName(0x3e)).toBe('admin-0x3e');
    expect(ioOpcodeName(0x02)).toBe('Read');
    expect(ioOpcodeName(0x60)).toBe('io-0x60');
    expect(fabricsTypeName(0x01)).toBe('Connect');
    expect(commandName(0x7f, true, 0x04)).toBe('Fabrics/PropertyGet');
    expect(commandName(0x02, true)).toBe('GetLogPage');
    expect(commandName(0x02, false)).toBe('Read');
  });
});
