// Differential-testing oracle: runs @cloud-copilot/iam-simulate on iamguard test cases.
//
// stdin:  a JSON array of cases (shape documented in ../README.md):
//   {id, principal, action, resource, resource_account, context,
//    identity_policies: [{name, policy}], permissions_boundary: policy|null,
//    session_policy: policy|null, resource_policy: policy|null}
// stdout: a JSON object {oracle: {name, version}, results: [{id, decision, error,
//          ignored_context_keys}]} with decision one of "allowed" | "explicitDeny" |
//          "implicitDeny" (iamguard's DecisionKind values) or null when the oracle refused the
//          case (error then says why).
//
// The validated entry point runSimulation is used on purpose: it rejects invalid policies,
// unknown actions and resources of the wrong type, so a recorded case is one the oracle
// considers a well-formed request.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSimulation } from '@cloud-copilot/iam-simulate';

const ORACLE_NAME = '@cloud-copilot/iam-simulate';
// The package's exports map hides package.json, so read it from node_modules directly.
const HERE = dirname(fileURLToPath(import.meta.url));
const ORACLE_VERSION = JSON.parse(
  readFileSync(join(HERE, 'node_modules', '@cloud-copilot', 'iam-simulate', 'package.json'), 'utf8'),
).version;

const DECISIONS = {
  Allowed: 'allowed',
  ExplicitlyDenied: 'explicitDeny',
  ImplicitlyDenied: 'implicitDeny',
};

function toSimulation(c) {
  const simulation = {
    request: {
      principal: c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: c.resource_account },
      contextVariables: c.context,
    },
    identityPolicies: c.identity_policies.map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
  if (c.permissions_boundary) {
    simulation.permissionBoundaryPolicies = [{ name: 'boundary', policy: c.permissions_boundary }];
  }
  if (c.session_policy) {
    simulation.sessionPolicy = c.session_policy;
  }
  if (c.resource_policy) {
    simulation.resourcePolicy = c.resource_policy;
  }
  return simulation;
}

async function runCase(c) {
  let response;
  try {
    response = await runSimulation(toSimulation(c), { simulationMode: 'Strict' });
  } catch (err) {
    return { id: c.id, decision: null, error: `exception: ${err && err.message}`, ignored_context_keys: [] };
  }
  if (response.resultType === 'error') {
    return { id: c.id, decision: null, error: JSON.stringify(response.errors), ignored_context_keys: [] };
  }
  if (response.resultType !== 'single') {
    return { id: c.id, decision: null, error: `unexpected resultType ${response.resultType}`, ignored_context_keys: [] };
  }
  const decision = DECISIONS[response.overallResult] ?? null;
  return {
    id: c.id,
    decision,
    error: decision ? null : `unexpected overallResult ${response.overallResult}`,
    ignored_context_keys: response.result.ignoredContextKeys ?? [],
  };
}

const cases = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const c of cases) {
  results.push(await runCase(c));
}
process.stdout.write(JSON.stringify({ oracle: { name: ORACLE_NAME, version: ORACLE_VERSION }, results }));
