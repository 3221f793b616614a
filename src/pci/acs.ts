/**
 * ACS (Access Control Services) control bits, as in the ACS Control register
 * (PCI_ACS_SV … PCI_ACS_DT). Only the three redirect bits matter to p2pdma: with
 * any of them set, peer-to-peer TLPs are forced up towards the root complex.
 */

export const ACS_FLAGS = {
  SV: 0x01, // Source Validation
  TB: 0x02, // Translation Blocking
  RR: 0x04, // P2P Request Redirect
  CR: 0x08, // P2P Completion Redirect
  UF: 0x10, // Upstream Forwarding
  EC: 0x20, // P2P Egress Control
  DT: 0x40, // Direct Translated P2P
} as const;

export type AcsFlagName = keyof typeof ACS_FLAGS;

export const ACS_REDIRECT_MASK = ACS_FLAGS.RR | ACS_FLAGS.CR | ACS_FLAGS.EC;

export function isAcsFlagName(s: string): s is AcsFlagName {
  return Object.prototype.hasOwnProperty.call(ACS_FLAGS, s);
}

export function acsNames(mask: number): AcsFlagName[] {
  return (Object.keys(ACS_FLAGS) as AcsFlagName[]).filter((n) => (mask & ACS_FLAGS[n]) !== 0);
}

export function hasAcsRedirect(mask: number): boolean {
  return (mask & ACS_REDIRECT_MASK) !== 0;
}
