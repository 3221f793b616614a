/**
 * Why a blktests nvme test can give a different answer against nvmet-ts than against the
 * kernel target, when the reason is blktests' external-target mode (NVME_TARGET_CONTROL)
 * or the host, not the target. Each entry names the blktests code that decides it
 * (blktests a608cb5). Only these differences are accepted by the stage; any other one fails it.
 */
export const KNOWN_DIFFERENCES: Readonly<Record<string, string>> = {
  'nvme/030':
    'not run against any external target: requires() calls _require_kernel_nvme_target (tests/nvme/rc), which skips when NVME_TARGET_CONTROL is set',
  'nvme/042':
    'changes the host key between connects by writing ${NVMET_CFS}/hosts/<hostnqn>/dhchap_key in the guest\'s own configfs (_set_nvmet_hostkey, tests/nvme/rc); blktests passes keys to an external target only at setup (--hostkey/--ctrkey), so the write fails ("No such file or directory"). nvmet-ts changes keys live with PATCH /api/hosts (6.12 row dhchap-reauth)',
  'nvme/043':
    'switches dhchap_hash / dhchap_dhgroup between connects in the guest\'s own configfs (_set_nvmet_hash, _set_nvmet_dhgroup); no external-target hook, the writes fail. SHA-256/384/512 and ffdhe2048/3072 against nvmet-ts: 6.12 rows dhchap-*',
  'nvme/044':
    'sets dhchap_dhgroup=ffdhe2048 in the guest\'s own configfs (_set_nvmet_dhgroup) after setup; that write fails against any external target. Its connects (host key, wrong ctrl key refused, valid ctrl key, invalid ctrl key refused) behave as against the kernel',
  'nvme/045':
    'renews the target\'s host/ctrl key, DH group and hash between re-authentications in the guest\'s own configfs (_set_nvmet_hostkey, _set_nvmet_ctrlkey, _set_nvmet_dhgroup, _set_nvmet_hash); no external-target hook, the writes fail. Re-authentication against nvmet-ts: 6.12 row dhchap-reauth',
  'nvme/048':
    'changes the queue count by writing attr_qid_max in the local configfs (${NVMET_CFS}/subsystems/...); with an external target the file is absent and the test skips itself ("missing attr_qid_max feature")',
  'nvme/051':
    'toggles ${NVMET_CFS}/subsystems/<nqn>/namespaces/1/enable in the guest\'s own configfs; blktests has no external-target hook for namespace enable/disable, so against any external target the writes fail',
  'nvme/058':
    'creates, disables and re-enables namespaces on 6 ports through the local configfs (_create_nvmet_ns, _enable_nvmet_ns, _disable_nvmet_ns); blktests has no external-target hook for them',
  'nvme/061':
    'kernel side: blktests\' own _nvmet_target_setup enables the port (_create_nvmet_port, _add_nvmet_subsys_to_port) before it allows the host (_create_nvmet_host); under TCG the host\'s 1 s reconnect lands in between, gets "Connect for subsystem ... is not allowed" (DNR) and removes the controller. The control script allows the host before the port listens',
  'nvme/068':
    'host side: needs the nvme multipath delayed-removal support (multipath_head_always / delayed_removal_secs) that 6.12 does not have; fails against both targets',
};
