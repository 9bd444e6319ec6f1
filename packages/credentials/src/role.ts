// Who a credential speaks for and what that allows: a city submits and reads its own submissions; analysts
// read a province or the whole nation and submit nothing; an operator (the people on call) reads the
// pipeline's status, every submission's and the whole nation's figures, and submits nothing; a reviewer (of
// a province, or of the ministry) reads what the analyst of the same scope reads and acts on reviews in it.

import type { DivisionRegistry } from '@citycheck/divisions';

/** How a role is written in a credential record. */
export type RoleName =
  | 'city'
  | `analyst:province:${string}`
  | 'analyst:ministry'
  | `reviewer:province:${string}`
  | 'reviewer:ministry'
  | 'operator';

/** The authenticated caller of a request. Never holds the secret. */
export type Principal =
  | { readonly kind: 'city'; readonly credentialId: string; readonly name: string; readonly cityCode: string }
  | {
      readonly kind: 'analyst:province';
      readonly credentialId: string;
      readonly name: string;
      readonly provinceCode: string;
    }
  | { readonly kind: 'analyst:ministry'; readonly credentialId: string; readonly name: string }
  | {
      readonly kind: 'reviewer:province';
      readonly credentialId: string;
      readonly name: string;
      readonly provinceCode: string;
    }
  | { readonly kind: 'reviewer:ministry'; readonly credentialId: string; readonly name: string }
  | { readonly kind: 'operator'; readonly credentialId: string; readonly name: string };

const sixDigits = /^[1-9][0-9]{5}$/;
const provinceCodePattern = /^[1-9][0-9]$/;

/**
 * Whether a code has the shape of a reporting city's: six digits, not a province's (a prefecture-level city
 * or municipality 110100, or a county-level city 640181). Whether it is one is the registry's word
 * (`registryProblem`).
 */
export const isCityCode = (code: string): boolean => sixDigits.test(code) && !code.endsWith('0000');

/**
 * Checks a role's codes against the division registry: a city credential only for a unit that reports as a
 * city (a prefecture-level city, a municipality or a county-level city), a provincial analyst's only for a
 * province that exists. Returns the problem, naming the code, or undefined.
 */
export const registryProblem = (
  role: string,
  cityCode: string | undefined,
  divisions: DivisionRegistry,
): string | undefined => {
  if (role === 'city' && cityCode !== undefined) {
    if (divisions.isReportingUnit(cityCode)) return undefined;
    const kind = divisions.kind(cityCode);
    return kind === undefined
      ? `there is no division ${cityCode} in the registry (${divisions.source})`
      : `${cityCode} ${divisions.name(cityCode) ?? ''} is of kind ${kind}, not a city that reports: city credentials are for prefecture-level cities, municipalities and county-level cities`;
  }
  const province = /^(?:analyst|reviewer):province:(.*)$/.exec(role)?.[1];
  if (province !== undefined && divisions.level(`${province}0000`) !== 'province')
    return `there is no province ${province} in the registry (${divisions.source})`;
  return undefined;
};

/** Checks a role and its city code together; returns the problem, or undefined when they are consistent. */
export const roleProblem = (role: string, cityCode: string | undefined): string | undefined => {
  if (role === 'city') {
    if (cityCode === undefined) return 'a city credential needs a city code';
    if (!isCityCode(cityCode))
      return `${cityCode} is not a six-digit city code (e.g. 110100, or 640181 for a county-level city)`;
    return undefined;
  }
  if (cityCode !== undefined)
    return `${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role} credential is bound to no city`;
  if (role === 'analyst:ministry' || role === 'reviewer:ministry' || role === 'operator') return undefined;
  const province = /^(?:analyst|reviewer):province:(.*)$/.exec(role)?.[1];
  if (province !== undefined) {
    return provinceCodePattern.test(province)
      ? undefined
      : `${province} is not a two-digit province code (e.g. 11)`;
  }
  return `unknown role ${role}: use city, analyst:province:<code>, analyst:ministry, reviewer:province:<code>, reviewer:ministry or operator`;
};

export const principalOf = (record: {
  readonly id: string;
  readonly name: string;
  readonly role: RoleName;
  readonly cityCode?: string;
}): Principal => {
  if (record.role === 'city') {
    return { kind: 'city', credentialId: record.id, name: record.name, cityCode: record.cityCode ?? '' };
  }
  if (record.role === 'analyst:ministry')
    return { kind: 'analyst:ministry', credentialId: record.id, name: record.name };
  if (record.role === 'reviewer:ministry')
    return { kind: 'reviewer:ministry', credentialId: record.id, name: record.name };
  if (record.role === 'operator') return { kind: 'operator', credentialId: record.id, name: record.name };
  if (record.role.startsWith('reviewer:province:'))
    return {
      kind: 'reviewer:province',
      credentialId: record.id,
      name: record.name,
      provinceCode: record.role.slice('reviewer:province:'.length),
    };
  return {
    kind: 'analyst:province',
    credentialId: record.id,
    name: record.name,
    provinceCode: record.role.slice('analyst:province:'.length),
  };
};

/** How a principal's role is written in an audit trail: `city`, `reviewer:province:64`, `reviewer:ministry`. */
export const roleOf = (principal: Principal): string => {
  switch (principal.kind) {
    case 'analyst:province':
    case 'reviewer:province':
      return `${principal.kind}:${principal.provinceCode}`;
    default:
      return principal.kind;
  }
};

/** Only a city credential submits, and only for its own city. */
export const maySubmitFor = (principal: Principal, cityCode: string): boolean =>
  principal.kind === 'city' && principal.cityCode === cityCode;

/** A city reads its own submissions, a provincial analyst those of its province, the ministry and operators all. */
export const mayReadCity = (principal: Principal, cityCode: string): boolean => {
  switch (principal.kind) {
    case 'city':
      return principal.cityCode === cityCode;
    case 'analyst:province':
    case 'reviewer:province':
      return cityCode.startsWith(principal.provinceCode);
    case 'analyst:ministry':
    case 'reviewer:ministry':
    case 'operator':
      return true;
  }
};
