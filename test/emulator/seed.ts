// Seed files (YAML) → SeedState → EmulatorState, with every problem reported by path.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { EcsApiError } from './errors.ts';
import { entryFieldNames, FIELDS, parseRuleSpec } from './permissions.ts';
import { ecsTime, EmulatorState, identityKey, isClassic } from './state.ts';
import type { StoredGroup } from './state.ts';
import type { Direction, EmulatorCredential, SeedGroup, SeedRegion, SeedRule, SeedState } from './types.ts';

export class SeedError extends Error {
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(`invalid emulator seed ${source}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SeedError';
    this.problems = problems;
  }
}

type Json = unknown;

function isRecord(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const GROUP_KEYS = new Set(['id', 'name', 'description', 'type', 'vpcId', 'innerAccessPolicy', 'creationTime', 'resourceGroupId', 'tags', 'rules']);
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Checks the shape of a parsed seed document; rule contents are checked when the state is built. */
export function checkSeedShape(doc: Json, source = 'seed'): SeedState {
  const problems: string[] = [];
  const bad = (path: string, msg: string): void => {
    problems.push(`${path}: ${msg}`);
  };
  if (!isRecord(doc)) throw new SeedError(source, ['the document must be a mapping with a "regions" key']);
  for (const key of Object.keys(doc)) {
    if (!['accountId', 'credentials', 'regions'].includes(key)) bad(key, 'unknown key (expected accountId, credentials, regions)');
  }
  const seed: { accountId?: string; credentials?: EmulatorCredential[]; regions: Record<string, SeedRegion> } = { regions: {} };
  if (doc['accountId'] !== undefined) {
    const a = doc['accountId'];
    if ((typeof a === 'string' && /^\d+$/.test(a)) || (typeof a === 'number' && Number.isInteger(a))) seed.accountId = String(a);
    else bad('accountId', 'must be a string of digits, e.g. "1234567890"');
  }
  if (doc['credentials'] !== undefined) {
    const creds = doc['credentials'];
    if (!Array.isArray(creds) || creds.length === 0) {
      bad('credentials', 'must be a non-empty list of { accessKeyId, accessKeySecret, securityToken? }');
    } else {
      seed.credentials = [];
      creds.forEach((c: Json, i: number) => {
        const path = `credentials[${i}]`;
        if (!isRecord(c) || typeof c['accessKeyId'] !== 'string' || c['accessKeyId'] === '' || typeof c['accessKeySecret'] !== 'string' || c['accessKeySecret'] === '') {
          bad(path, 'needs non-empty string accessKeyId and accessKeySecret');
          return;
        }
        if (c['securityToken'] !== undefined && typeof c['securityToken'] !== 'string') bad(`${path}.securityToken`, 'must be a string');
        seed.credentials?.push({
          accessKeyId: c['accessKeyId'],
          accessKeySecret: c['accessKeySecret'],
          ...(typeof c['securityToken'] === 'string' ? { securityToken: c['securityToken'] } : {}),
        });
      });
    }
  }
  const regions = doc['regions'];
  if (!isRecord(regions)) {
    bad('regions', 'must be a mapping of region id to { securityGroups, prefixLists }');
  } else {
    for (const [regionId, region] of Object.entries(regions)) {
      const rpath = `regions.${regionId}`;
      if (!/^[a-z0-9-]+$/.test(regionId)) bad(rpath, 'a region id is lower-case letters, digits and dashes, e.g. cn-hangzhou');
      if (region === null) {
        seed.regions[regionId] = {};
        continue;
      }
      if (!isRecord(region)) {
        bad(rpath, 'must be a mapping with securityGroups and/or prefixLists');
        continue;
      }
      for (const key of Object.keys(region)) {
        if (key !== 'securityGroups' && key !== 'prefixLists') bad(`${rpath}.${key}`, 'unknown key (expected securityGroups, prefixLists)');
      }
      const out: { securityGroups: SeedGroup[]; prefixLists: { id: string; name?: string }[] } = { securityGroups: [], prefixLists: [] };
      const pls = region['prefixLists'];
      if (pls !== undefined) {
        if (!Array.isArray(pls)) bad(`${rpath}.prefixLists`, 'must be a list of { id, name? }');
        else {
          pls.forEach((pl: Json, i: number) => {
            if (!isRecord(pl) || typeof pl['id'] !== 'string' || !pl['id'].startsWith('pl-')) bad(`${rpath}.prefixLists[${i}]`, 'needs an id starting with "pl-"');
            else out.prefixLists.push({ id: pl['id'], ...(typeof pl['name'] === 'string' ? { name: pl['name'] } : {}) });
          });
        }
      }
      const groups = region['securityGroups'];
      if (groups !== undefined && !Array.isArray(groups)) bad(`${rpath}.securityGroups`, 'must be a list of groups');
      (Array.isArray(groups) ? groups : []).forEach((g: Json, i: number) => {
        const gpath = `${rpath}.securityGroups[${i}]`;
        if (!isRecord(g)) {
          bad(gpath, 'must be a mapping with at least an id');
          return;
        }
        for (const key of Object.keys(g)) if (!GROUP_KEYS.has(key)) bad(`${gpath}.${key}`, `unknown key (expected one of ${[...GROUP_KEYS].join(', ')})`);
        const id = g['id'];
        if (typeof id !== 'string' || !/^sg-[A-Za-z0-9_-]+$/.test(id)) {
          bad(`${gpath}.id`, 'must be a security group id like sg-web-prod');
          return;
        }
        const str = (key: string): string | undefined => {
          const v = g[key];
          if (v === undefined || v === null) return undefined;
          if (typeof v !== 'string') {
            bad(`${gpath}.${key}`, 'must be a string');
            return undefined;
          }
          return v;
        };
        const type = str('type');
        if (type !== undefined && type !== 'normal' && type !== 'enterprise') bad(`${gpath}.type`, 'must be normal or enterprise');
        const policy = str('innerAccessPolicy');
        if (policy !== undefined && policy !== 'Accept' && policy !== 'Drop') bad(`${gpath}.innerAccessPolicy`, 'must be Accept or Drop');
        const creationTime = str('creationTime');
        if (creationTime !== undefined && !TIME.test(creationTime)) bad(`${gpath}.creationTime`, 'must look like 2026-01-31T12:00:00Z');
        const tags = g['tags'];
        let tagMap: Record<string, string> | undefined;
        if (tags !== undefined && tags !== null) {
          if (!isRecord(tags) || !Object.values(tags).every((v) => typeof v === 'string')) bad(`${gpath}.tags`, 'must be a mapping of string to string');
          else tagMap = tags as Record<string, string>;
        }
        const rules = g['rules'];
        const ruleList: SeedRule[] = [];
        if (rules !== undefined && rules !== null) {
          if (!Array.isArray(rules)) bad(`${gpath}.rules`, 'must be a list of rules');
          else {
            rules.forEach((r: Json, j: number) => {
              if (!isRecord(r)) bad(`${gpath}.rules[${j}]`, 'must be a mapping of rule fields');
              else ruleList.push(r as SeedRule);
            });
          }
        }
        const group: SeedGroup = {
          id,
          ...(str('name') !== undefined ? { name: str('name') } : {}),
          ...(str('description') !== undefined ? { description: str('description') } : {}),
          ...(type === 'normal' || type === 'enterprise' ? { type } : {}),
          ...(str('vpcId') !== undefined ? { vpcId: str('vpcId') } : {}),
          ...(policy === 'Accept' || policy === 'Drop' ? { innerAccessPolicy: policy } : {}),
          ...(creationTime !== undefined ? { creationTime } : {}),
          ...(str('resourceGroupId') !== undefined ? { resourceGroupId: str('resourceGroupId') } : {}),
          ...(tagMap ? { tags: tagMap } : {}),
          rules: ruleList,
        };
        out.securityGroups.push(group);
      });
      seed.regions[regionId] = out;
    }
  }
  if (problems.length > 0) throw new SeedError(source, problems);
  return seed;
}

export function parseSeedYaml(text: string, source = 'seed'): SeedState {
  let doc: Json;
  try {
    doc = parseYaml(text) as Json;
  } catch (err) {
    throw new SeedError(source, [`not valid YAML: ${(err as Error).message}`]);
  }
  return checkSeedShape(doc, source);
}

export function readSeedFile(path: string): SeedState {
  return parseSeedYaml(readFileSync(path, 'utf8'), path);
}

const OUTPUT_ONLY = new Set(['SourceGroupName', 'DestGroupName', 'SourcePrefixListName', 'DestPrefixListName', 'PortRangeListName']);

function pascal(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

interface NormalisedRule {
  direction?: Direction;
  id?: string;
  createTime?: string;
  raw: Record<string, string>;
  prefixListName?: string;
}

function normaliseRule(rule: SeedRule, path: string, bad: (path: string, msg: string) => void): NormalisedRule {
  const fields: Record<string, string> = {};
  for (const [key, v] of Object.entries(rule)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'boolean' || typeof v === 'object') {
      bad(`${path}.${key}`, 'must be a string or a number');
      continue;
    }
    fields[pascal(key)] = String(v);
  }
  const out: NormalisedRule = { raw: {} };
  const direction = (fields['Direction'] ?? '').toLowerCase();
  if (direction !== 'ingress' && direction !== 'egress') {
    bad(`${path}.direction`, 'is required: ingress or egress');
    return out;
  }
  out.direction = direction;
  const allowed = new Set(entryFieldNames(direction));
  for (const [key, v] of Object.entries(fields)) {
    if (key === 'Direction') continue;
    if (key === 'SecurityGroupRuleId') {
      if (v !== '') out.id = v;
    } else if (key === 'CreateTime') {
      if (v !== '' && !TIME.test(v)) bad(`${path}.createTime`, 'must look like 2026-01-31T12:00:00Z');
      else if (v !== '') out.createTime = v;
    } else if (OUTPUT_ONLY.has(key)) {
      if (key === `${FIELDS[direction].side}PrefixListName` && v !== '') out.prefixListName = v;
    } else if (allowed.has(key)) {
      out.raw[key] = v;
    } else if (v !== '') {
      bad(`${path}.${key}`, `is not a field of an ${direction} rule (fields: ${[...allowed].join(', ')})`);
    }
  }
  return out;
}

/** Builds the emulator state from a seed; throws SeedError listing every problem. */
export function buildState(seed: SeedState, accountId: string, source = 'seed'): EmulatorState {
  const problems: string[] = [];
  const bad = (path: string, msg: string): void => {
    problems.push(`${path}: ${msg}`);
  };
  const state = new EmulatorState(accountId);
  const now = new Date();
  const pending: { group: StoredGroup; path: string; rules: NormalisedRule[] }[] = [];

  for (const [regionId, region] of Object.entries(seed.regions)) {
    for (const pl of region.prefixLists ?? []) state.addPrefixList(regionId, pl.id, pl.name ?? '');
    (region.securityGroups ?? []).forEach((g, i) => {
      const path = `regions.${regionId}.securityGroups[${i}]`;
      if (state.hasGroupId(g.id)) {
        bad(`${path}.id`, `${g.id} is defined twice (group ids are unique across regions)`);
        return;
      }
      const type = g.type ?? 'normal';
      const vpcId = g.vpcId ?? '';
      if (type === 'enterprise' && vpcId === '') bad(`${path}.vpcId`, 'an enterprise (advanced) group must be in a VPC');
      const group: StoredGroup = {
        regionId,
        id: g.id,
        name: g.name ?? '',
        description: g.description ?? '',
        type,
        vpcId,
        innerAccessPolicy: g.innerAccessPolicy ?? (type === 'enterprise' ? 'Drop' : 'Accept'),
        creationTime: g.creationTime ?? ecsTime(now),
        resourceGroupId: g.resourceGroupId ?? '',
        tags: { ...(g.tags ?? {}) },
        rules: [],
      };
      state.addGroup(group);
      const rules = (g.rules ?? []).map((r, j) => normaliseRule(r, `${path}.rules[${j}]`, bad));
      for (const r of rules) {
        if (!r.direction) continue;
        const plId = r.raw[FIELDS[r.direction].prefixList];
        if (plId) state.addPrefixList(regionId, plId, r.prefixListName ?? '');
      }
      pending.push({ group, path, rules });
    });
  }

  for (const { group, path, rules } of pending) {
    const seen = new Map<string, number>();
    rules.forEach((r, j) => {
      const rpath = `${path}.rules[${j}]`;
      if (!r.direction) return;
      try {
        const spec = parseRuleSpec(r.raw, r.direction, group, state, { purpose: 'seed', allowSystemPriority: true });
        const key = identityKey(spec, isClassic(group), true);
        const earlier = seen.get(key);
        if (earlier !== undefined) {
          bad(rpath, `duplicates rules[${earlier}] of the same group`);
          return;
        }
        seen.set(key, j);
        if (r.id !== undefined && !state.claimRuleId(r.id)) {
          bad(`${rpath}.securityGroupRuleId`, `${r.id} is used twice`);
          return;
        }
        const id = r.id ?? state.newRuleId();
        group.rules.push({ ...spec, seq: state.nextSeq(), id, createTime: r.createTime ?? ecsTime(now) });
      } catch (err) {
        if (err instanceof EcsApiError) bad(rpath, `${err.message} (${err.code})`);
        else throw err;
      }
    });
  }
  if (problems.length > 0) throw new SeedError(source, problems);
  return state;
}
