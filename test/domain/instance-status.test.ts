import { describe, expect, it } from 'vitest';
import { instanceStatus, type NodeObservation } from '../../src/domain/instance-status.js';

const up = { name: 'i1', adminState: 'up' as const, primaryNode: 'n1', primaryOffline: false };
const down = { ...up, adminState: 'down' as const };
const seen = (entries: [string, NodeObservation][]) => new Map(entries);
const runs = (...running: string[]): NodeObservation => ({ reachable: true, running });

describe("instance status: Ganeti's words from the record and what the nodes report", () => {
  it('says only what was recorded when no node was asked', () => {
    expect(instanceStatus(up, undefined)).toBe('running');
    expect(instanceStatus(down, undefined)).toBe('ADMIN_down');
  });

  it('agrees with the record when the primary reports the same', () => {
    expect(instanceStatus(up, seen([['n1', runs('i1')]]))).toBe('running');
    expect(instanceStatus(down, seen([['n1', runs()]]))).toBe('ADMIN_down');
  });

  it('tells when the node disagrees with the record', () => {
    expect(instanceStatus(up, seen([['n1', runs('other')]]))).toBe('ERROR_down');
    expect(instanceStatus(down, seen([['n1', runs('i1')]]))).toBe('ERROR_up');
  });

  it('says ERROR_wrongnode when it runs elsewhere and not on its primary', () => {
    expect(instanceStatus(up, seen([['n1', runs()], ['n2', runs('i1')]]))).toBe('ERROR_wrongnode');
    expect(instanceStatus(down, seen([['n1', runs()], ['n2', runs('i1')]]))).toBe('ERROR_wrongnode');
    // On its primary too (a second copy elsewhere is cluster verify's to report): the primary's word counts.
    expect(instanceStatus(up, seen([['n1', runs('i1')], ['n2', runs('i1')]]))).toBe('running');
  });

  it('says ERROR_nodedown when the primary does not answer, and ERROR_nodeoffline when it is marked offline', () => {
    expect(instanceStatus(up, seen([['n1', { reachable: false, why: 'ECONNREFUSED' }]]))).toBe('ERROR_nodedown');
    expect(instanceStatus(down, seen([['n1', { reachable: false, why: 'timeout' }]]))).toBe('ERROR_nodedown');
    expect(instanceStatus({ ...up, primaryOffline: true }, seen([['n2', runs('i1')]]))).toBe('ERROR_nodeoffline');
    expect(instanceStatus({ ...down, primaryOffline: true }, undefined)).toBe('ERROR_nodeoffline');
  });

  it('falls back to the record for a node that answers but cannot list its guests', () => {
    expect(instanceStatus(up, seen([['n1', { reachable: true }]]))).toBe('running');
    expect(instanceStatus(down, seen([['n1', { reachable: true }]]))).toBe('ADMIN_down');
  });
});
