import { expect } from 'chai';
import fc from 'fast-check';
import { applyPlan } from '../../../src/cloud/apply.ts';
import { planRestore } from '../../../src/plan/plan.ts';
import type { GroupSnapshot, RestoreMode, RestoreRequest } from '../../../src/plan/types.ts';
import { canonicalRule, ruleKey } from '../../../src/rules/identity.ts';
import type { Peer, Rule } from '../../../src/rules/rule.ts';
import { MemoryEcs } from '../support/memory-ecs.ts';

const ORIGINAL = 'sg-original';
const TARGET = 'sg-target';
const SELF = 'self';

// Rules are generated with a symbolic "self" group peer, resolved per group, so the self-reference rewrite is exercised.
type RuleDraft = Omit<Rule, 'peer' | 'ruleId'> & { readonly peer: Peer | typeof SELF };

const peerArb: fc.Arbitrary<Peer | typeof SELF> = fc.oneof(
  fc.constantFrom('10.0.0.0/8', '192.168.1.0/24', '172.16.0.1/32', '0.0.0.0/0').map((cidr): Peer => ({ kind: 'ipv4', cidr })),
  fc.constantFrom('2001:db8::/32', '::/0').map((cidr): Peer => ({ kind: 'ipv6', cidr })),
  fc.constantFrom('sg-other', 'sg-third').map((groupId): Peer => ({ kind: 'group', groupId, ownerAccount: '1234567890' })),
  fc.constant(SELF),
  fc.constantFrom('pl-1', 'pl-2').map((prefixListId): Peer => ({ kind: 'prefixList', prefixListId })),
);

const protocolPortArb = fc.oneof(
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), portRange: fc.constantFrom('22/22', '80/80', '443/443', '1/65535', '8000/9000') }),
  fc.record({ protocol: fc.constantFrom('ICMP', 'GRE', 'ALL'), portRange: fc.constant('-1/-1') }),
);

function draftArb(withDescription: fc.Arbitrary<string | undefined>): fc.Arbitrary<RuleDraft> {
  return fc
    .record({
      direction: fc.constantFrom('ingress', 'egress'),
      pp: protocolPortArb,
      peer: peerArb,
      policy: fc.constantFrom('accept', 'drop'),
      priority: fc.constantFrom(1, 1, 5, 50, 100),
      description: withDescription,
    })
    .map(({ pp, description, ...rest }) => ({ ...rest, ...pp, nicType: 'intranet' as const, ...(description !== undefined && { description }) }));
}

// System rules use a peer user rules never have, so they cannot collide with a user rule's identity.
const systemDraftArb: fc.Arbitrary<RuleDraft> = fc.constantFrom('ingress', 'egress').map((direction) => ({
  direction, protocol: 'ALL', portRange: '-1/-1', peer: { kind: 'ipv4', cidr: '100.64.0.0/10' }, policy: 'accept', priority: 110, nicType: 'intranet',
}));

function resolve(draft: RuleDraft, groupId: string, id: string): Rule {
  const peer: Peer = draft.peer === SELF ? { kind: 'group', groupId, ownerAccount: '1234567890' } : draft.peer;
  return { ...draft, peer, ruleId: id };
}

/** A group ECS could hold: no two rules with the same identity under the given reading. */
function groupArb(groupId: string, prefix: string, includesPriority: boolean, description: fc.Arbitrary<string | undefined>): fc.Arbitrary<Rule[]> {
  return fc
    .tuple(fc.array(draftArb(description), { maxLength: 30 }), fc.array(systemDraftArb, { maxLength: 2 }))
    .map(([user, system]) => {
      const seen = new Set<string>();
      const rules: Rule[] = [];
      [...user, ...system].forEach((draft, i) => {
        const rule = resolve(draft, groupId, `sgr-${prefix}${i}`);
        const identity = includesPriority ? `${ruleKey(rule)}|${rule.priority}` : ruleKey(rule);
        if (seen.has(identity)) return;
        seen.add(identity);
        rules.push(rule);
      });
      return rules;
    });
}

function snapshot(groupId: string, rules: readonly Rule[]): GroupSnapshot {
  return { regionId: 'cn-hangzhou', groupId, groupType: 'normal', networkType: 'vpc', vpcId: 'vpc-1', rules, unreadableRules: [] };
}

function request(mode: RestoreMode): RestoreRequest {
  return { regionId: 'cn-hangzhou', originalGroupId: ORIGINAL, targetGroupId: TARGET, mode };
}

function rewriteSelf(rule: Rule): Rule {
  return rule.peer.kind === 'group' && rule.peer.groupId === TARGET ? { ...rule, peer: { ...rule.peer, groupId: ORIGINAL } } : rule;
}

/** What a restore should leave: the target's user rules, self-references pointing at the original. */
function contentOf(rules: readonly Rule[], selfFrom?: string): string[] {
  return rules
    .filter((r) => r.priority !== 110)
    .map((r) => (selfFrom ? rewriteSelf(r) : r))
    .map((r) => JSON.stringify(canonicalRule(r)))
    .sort();
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const anyDescription = fc.option(fc.constantFrom('web', 'ssh', 'db'), { nil: undefined });
const someDescription = fc.constantFrom('web', 'ssh', 'db');

for (const includesPriority of [false, true]) {
  describe(`planner properties (ECS identity ${includesPriority ? 'with' : 'without'} priority)`, () => {
    it('applying a Complete plan makes the original equal the target modulo system rules, never losing a kept rule on the way', async () => {
      await fc.assert(
        fc.asyncProperty(
          groupArb(ORIGINAL, 'o', includesPriority, anyDescription),
          groupArb(TARGET, 't', includesPriority, someDescription),
          async (originalRules, targetRules) => {
            const plan = planRestore(request('complete'), snapshot(ORIGINAL, originalRules), snapshot(TARGET, targetRules));
            const ecs = new MemoryEcs({ identityIncludesPriority: includesPriority });
            ecs.seed(ORIGINAL, originalRules);
            const result = await applyPlan(ecs, plan, { applyId: 'test' });
            expect(result.complete, JSON.stringify(result.failures.map((f) => f.error.message))).to.equal(true);
            const after = ecs.rules(ORIGINAL);
            expect(contentOf(after)).to.deep.equal(contentOf(targetRules, TARGET));
            // The original's system rules are never removed.
            for (const system of originalRules.filter((r) => r.priority === 110)) expect(after.map((r) => r.ruleId)).to.include(system.ruleId);
            // Make-before-break: a rule whose identity is in both groups is present after every single call.
            const targetKeys = new Set(targetRules.map((t) => ruleKey(rewriteSelf(t))));
            const kept = new Set(originalRules.map(ruleKey).filter((k) => targetKeys.has(k)));
            for (const step of ecs.history) {
              const present = new Set(step.rules.map(ruleKey));
              for (const key of kept) expect(present.has(key), `${key} missing after ${step.action}`).to.equal(true);
            }
            // A second plan finds nothing to do.
            const again = planRestore(request('complete'), snapshot(ORIGINAL, after), snapshot(TARGET, targetRules));
            expect(again.counts).to.include({ toAdd: 0, toRemove: 0, toUpdate: 0 });
          },
        ),
        { numRuns: 300 },
      );
    });

    it('a Partial plan never removes or updates, and afterwards every target identity is present', async () => {
      await fc.assert(
        fc.asyncProperty(
          groupArb(ORIGINAL, 'o', includesPriority, anyDescription),
          groupArb(TARGET, 't', includesPriority, anyDescription),
          async (originalRules, targetRules) => {
            const plan = planRestore(request('partial'), snapshot(ORIGINAL, originalRules), snapshot(TARGET, targetRules));
            expect(plan.toRemove).to.have.length(0);
            expect(plan.toUpdate).to.have.length(0);
            const ecs = new MemoryEcs({ identityIncludesPriority: includesPriority });
            ecs.seed(ORIGINAL, originalRules);
            await applyPlan(ecs, plan, { applyId: 'test' });
            const after = ecs.rules(ORIGINAL);
            for (const rule of originalRules) expect(after.find((r) => r.ruleId === rule.ruleId)).to.deep.equal(rule);
            const keys = new Set(after.map(ruleKey));
            for (const t of targetRules.filter((r) => r.priority !== 110)) {
              expect(keys.has(ruleKey(rewriteSelf(t)))).to.equal(true);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  });
}

describe('planner properties (plan hash and identical groups)', () => {
  it('plans nothing for identical groups, whatever the rule ids and order', () => {
    fc.assert(
      fc.property(groupArb(ORIGINAL, 'o', false, anyDescription), fc.integer(), (originalRules, seed) => {
        // The same rules in the backup: fresh ids, another order, self-references naming the backup itself.
        const targetRules = shuffled(originalRules, seed).map((r, i) => ({
          ...r,
          ruleId: `sgr-copy${i}`,
          peer: r.peer.kind === 'group' && r.peer.groupId === ORIGINAL ? { ...r.peer, groupId: TARGET } : r.peer,
        }));
        for (const mode of ['complete', 'partial'] as const) {
          const plan = planRestore(request(mode), snapshot(ORIGINAL, originalRules), snapshot(TARGET, targetRules));
          expect(plan.counts).to.include({ toAdd: 0, toRemove: 0, toUpdate: 0 });
          expect(plan.counts.unchanged).to.equal(originalRules.filter((r) => r.priority !== 110).length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same planHash whatever the order of the rules', () => {
    fc.assert(
      fc.property(groupArb(ORIGINAL, 'o', false, anyDescription), groupArb(TARGET, 't', false, anyDescription), fc.integer(), fc.constantFrom<RestoreMode>('complete', 'partial'), (o, t, seed, mode) => {
        const a = planRestore(request(mode), snapshot(ORIGINAL, o), snapshot(TARGET, t));
        const b = planRestore(request(mode), snapshot(ORIGINAL, shuffled(o, seed)), snapshot(TARGET, shuffled(t, seed + 1)));
        expect(b.planHash).to.equal(a.planHash);
      }),
      { numRuns: 300 },
    );
  });

  it('changes the planHash when any planned rule changes', () => {
    fc.assert(
      fc.property(
        groupArb(ORIGINAL, 'o', false, anyDescription),
        groupArb(TARGET, 't', false, someDescription),
        fc.nat(),
        fc.constantFrom('priority', 'description', 'port', 'drop-planned'),
        (o, t, pick, change) => {
          const before = planRestore(request('complete'), snapshot(ORIGINAL, o), snapshot(TARGET, t));
          const planned = [...before.toAdd, ...before.toUpdate.map((u) => u.to)];
          fc.pre(planned.length > 0);
          const victim = planned[pick % planned.length] as Rule;
          // Find the target rule the planned one came from (self-references were rewritten to the original).
          const index = t.findIndex((r) => JSON.stringify(canonicalRule(rewriteSelf(r))) === JSON.stringify(canonicalRule(victim)));
          expect(index).to.be.at.least(0);
          const source = t[index] as Rule;
          let changed: Rule[];
          if (change === 'drop-planned') changed = t.filter((_, i) => i !== index);
          else {
            const edited: Rule =
              change === 'priority' ? { ...source, priority: source.priority === 100 ? 99 : source.priority + 1 }
                : change === 'description' ? { ...source, description: `${source.description ?? ''}-changed` }
                  : { ...source, protocol: 'TCP', portRange: source.portRange === '12345/12345' ? '12346/12346' : '12345/12345' };
            changed = t.map((r, i) => (i === index ? edited : r));
            // The edit must not turn it into a duplicate of another target rule.
            fc.pre(new Set(changed.map(ruleKey)).size === changed.length);
          }
          const after = planRestore(request('complete'), snapshot(ORIGINAL, o), snapshot(TARGET, changed));
          expect(after.planHash).to.not.equal(before.planHash);
        },
      ),
      { numRuns: 300 },
    );
  });
});
