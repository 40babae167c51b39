// Who may call each kind of route, shared by the CB's and the FIs' route files: the named access
// rules their routes' config carries, which the node's gate (access/gate.ts) checks.

import { anyone, bodyField, role, type Access } from '../access/gate.ts';

/** Access rules shared by the CB's and the FIs' routes (access/gate.ts). */
export const rules = {
  public: { grants: [anyone] },
  cbOperator: { grants: [role('cb-operator')] },
  fiOperator: { grants: [role('fi-operator')] },
  cbAudit: { grants: [role('auditor'), role('cb-operator')], limit: 'audit' },
  fiAudit: { grants: [role('auditor'), role('fi-operator')], limit: 'audit' },
  /** A CB route an FI node calls for itself: the FI its certificate names must be the body's fiId. */
  institution: (field = 'fiId'): Access => ({ grants: [{ institution: bodyField(field) }] }),
} satisfies Record<string, Access | ((...a: never[]) => Access)>;
