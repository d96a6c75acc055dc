// Presentation of plans and apply results: a coloured table like the console's "Result preview" (green: only in the
// target, added; red: only in the original, removed), and the JSON documents scripts consume.

import { styleText } from 'node:util';
import { renderPeer, renderRule } from '../rules/identity.ts';
import type { Rule } from '../rules/rule.ts';
import type { Plan, RuleUpdate } from '../plan/types.ts';
import type { ApplyResult } from '../cloud/apply.ts';

type Style = Parameters<typeof styleText>[0];

export interface RenderOptions {
  readonly color: boolean;
}

function paint(style: Style, text: string, options: RenderOptions): string {
  return options.color ? styleText(style, text, { validateStream: false }) : text;
}

function columns(rule: Rule): string[] {
  return [
    rule.direction,
    rule.policy,
    rule.protocol,
    rule.portRangeListId ?? rule.portRange,
    renderPeer(rule.peer) + (rule.nicType === 'internet' ? ' (internet)' : ''),
    String(rule.priority),
    rule.description ?? '',
  ];
}

function updateColumns(update: RuleUpdate): string[] {
  const cols = columns(update.to);
  if (update.from.priority !== update.to.priority) cols[5] = `${update.from.priority} → ${update.to.priority}`;
  if (update.changed.includes('description')) cols[6] = `${update.from.description ?? ''} → ${update.to.description ?? ''}`;
  return cols;
}

const HEADER = ['', 'ACTION', 'DIRECTION', 'POLICY', 'PROTOCOL', 'PORTS', 'PEER', 'PRIORITY', 'DESCRIPTION'];

export function renderPlanTable(plan: Plan, options: RenderOptions): string {
  const rows: { cells: string[]; style?: Style }[] = [];
  for (const rule of plan.toAdd) rows.push({ cells: ['+', 'add', ...columns(rule)], style: 'green' });
  for (const update of plan.toUpdate) rows.push({ cells: ['~', 'update', ...updateColumns(update)], style: 'yellow' });
  for (const rule of plan.toRemove) rows.push({ cells: ['-', 'remove', ...columns(rule)], style: 'red' });
  for (const rule of plan.skippedSystemRules) rows.push({ cells: ['!', 'skip', ...columns(rule)], style: 'cyan' });

  const { regionId, originalGroupId, targetGroupId, mode } = plan.request;
  const lines: string[] = [];
  lines.push(`Restore ${paint('bold', targetGroupId, options)} (target) onto ${paint('bold', originalGroupId, options)} (original) in ${regionId}, mode ${mode}`);
  lines.push('');
  if (rows.length === 0) {
    lines.push('  No changes: the original already holds the target\'s rules.');
  } else {
    const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.cells[i] ?? '').length)));
    const format = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
    lines.push(paint('bold', format(HEADER), options));
    for (const row of rows) lines.push(row.style ? paint(row.style, format(row.cells), options) : format(row.cells));
  }
  if (plan.skippedSystemRules.length > 0) {
    lines.push('');
    lines.push(paint('cyan', `! ${plan.skippedSystemRules.length} system rule(s) with priority 110 are not created by a restore; if you need them, add them by hand at priority 100.`, options));
  }
  for (const problem of plan.problems) {
    lines.push(paint('magenta', `x not restored (${problem.reason}): ${problem.message}`, options));
  }
  const c = plan.counts;
  lines.push('');
  lines.push(
    `${paint('green', `${c.toAdd} to add`, options)}, ${paint('yellow', `${c.toUpdate} to update`, options)}, ${paint('red', `${c.toRemove} to remove`, options)}, ${c.unchanged} unchanged, ${paint('cyan', `${c.skippedSystemRules} system rule(s) skipped`, options)}`,
  );
  lines.push(`planHash ${paint('bold', plan.planHash, options)}`);
  return lines.join('\n');
}

function ruleJson(rule: Rule): Record<string, unknown> {
  return { ...rule, rendering: renderRule(rule) };
}

export function planJson(plan: Plan): Record<string, unknown> {
  return {
    planHash: plan.planHash,
    request: plan.request,
    counts: plan.counts,
    toAdd: plan.toAdd.map(ruleJson),
    toRemove: plan.toRemove.map(ruleJson),
    toUpdate: plan.toUpdate.map((u) => ({ ruleId: u.from.ruleId, changed: u.changed, from: ruleJson(u.from), to: ruleJson(u.to) })),
    skippedSystemRules: plan.skippedSystemRules.map(ruleJson),
    problems: plan.problems.map((p) => ({ reason: p.reason, message: p.message, ...(p.rule && { rule: ruleJson(p.rule) }), ...(p.ruleId && { ruleId: p.ruleId }) })),
  };
}

export function applyJson(plan: Plan, result: ApplyResult): Record<string, unknown> {
  return {
    planHash: plan.planHash,
    complete: result.complete,
    applied: { added: result.added, removed: result.removed, updated: result.updated, skippedSystemRules: plan.counts.skippedSystemRules },
    alreadyAbsent: result.alreadyAbsent,
    removalsSkipped: result.removalsSkipped,
    mutatingCalls: result.mutatingCalls,
    failures: result.failures.map((f) => ({ phase: f.phase, rule: ruleJson(f.rule), code: f.error.code, requestId: f.error.requestId, message: f.error.message })),
    ...(result.aborted && { error: { code: result.aborted.code, requestId: result.aborted.requestId, message: result.aborted.describe() } }),
    problems: plan.problems.map((p) => ({ reason: p.reason, message: p.message })),
  };
}

export function renderApplySummary(plan: Plan, result: ApplyResult, options: RenderOptions): string {
  const lines: string[] = [];
  const headline = result.complete ? paint('green', 'Restore applied.', options) : paint('red', 'Restore incomplete.', options);
  lines.push(headline);
  lines.push(
    `added ${result.added}, updated ${result.updated}, removed ${result.removed}` +
      (result.alreadyAbsent ? ` (${result.alreadyAbsent} already absent)` : '') +
      `, system rules skipped ${plan.counts.skippedSystemRules}, ECS calls ${result.mutatingCalls}`,
  );
  for (const failure of result.failures) {
    lines.push(paint('red', `x ${failure.phase} failed: ${renderRule(failure.rule)}: ${failure.error.describe()}`, options));
  }
  if (result.removalsSkipped) {
    lines.push(paint('yellow', `No rule was removed: removals run only after every add and update succeeded (${plan.counts.toRemove} pending).`, options));
  }
  if (result.aborted) lines.push(paint('red', result.aborted.describe(), options));
  lines.push(`planHash ${plan.planHash}`);
  return lines.join('\n');
}
