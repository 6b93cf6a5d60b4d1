/**
 * The STIX 2.1 object model (OASIS Standard, 10 June 2021) as TypeScript types.
 *
 * - §2 common data types: external reference (§2.4), hashes (§2.6), identifier (§2.8), kill chain
 *   phase (§2.10), open vocabularies (§2.12), timestamp (§2.14).
 * - §3 common properties; §4 the nineteen STIX Domain Objects; §5 the two Relationship Objects;
 *   §6 the eighteen Cyber-observable Objects; §7 the meta objects (language content §7.1, marking
 *   definition §7.2.1 with TLP §7.2.1.4 and statement §7.2.1.3, extension definition §7.3); §8
 *   bundle; §11 custom objects and properties.
 *
 * Every object type extends `StixObject` (./object.ts), so typed objects go wherever the minimal
 * shape is expected. Types describe valid objects; they do not make an object valid: parse peer
 * input with `parseStix` or check it with `validateObject` (./validate.ts) before narrowing.
 * Lists are mutable arrays only because `JsonValue` is; treat every object as immutable.
 */
import type { JsonObject, StixObject } from "./object.js";

// ---------------------------------------------------------------- §2 common data types

/** §2.8 `type--UUID`; the type parameter names the object types a reference may point at. */
export type Identifier<T extends string = string> = `${T}--${string}`;

/** §2.14 `YYYY-MM-DDTHH:mm:ss[.s+]Z`. */
export type Timestamp = string;

/** §2.12 an open vocabulary: the suggested values, or any other string. */
export type OpenVocab<T extends string> = T | (string & Record<never, never>);

/** §2.6 algorithm name (hash-algorithm-ov or custom) to digest. */
export type Hashes = Readonly<Record<string, string>>;

/** §2.4 */
// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- an alias is assignable to JsonObject; an interface is not
export type ExternalReference = {
  readonly source_name: string;
  readonly description?: string;
  readonly url?: string;
  readonly hashes?: Hashes;
  readonly external_id?: string;
};

/** §2.10 */
// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- an alias is assignable to JsonObject; an interface is not
export type KillChainPhase = {
  readonly kill_chain_name: string;
  readonly phase_name: string;
};

/** §7.2.3 granular marking: a marking definition or a language, applied to the selected properties. */
// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- an alias is assignable to JsonObject; an interface is not
export type GranularMarking = {
  readonly selectors: string[];
  readonly marking_ref?: Identifier<"marking-definition">;
  readonly lang?: string;
};

/** §7.3 */
export const EXTENSION_TYPES = [
  "new-sdo",
  "new-sco",
  "new-sro",
  "property-extension",
  "toplevel-property-extension",
] as const;
export type ExtensionType = (typeof EXTENSION_TYPES)[number];

/** The common property `extensions` (§3): predefined `…-ext` names or extension-definition ids to their content. */
export type Extensions = Readonly<Record<string, JsonObject>>;

// ---------------------------------------------------------------- type names

/** §4 */
export const SDO_TYPES = [
  "attack-pattern",
  "campaign",
  "course-of-action",
  "grouping",
  "identity",
  "incident",
  "indicator",
  "infrastructure",
  "intrusion-set",
  "location",
  "malware",
  "malware-analysis",
  "note",
  "observed-data",
  "opinion",
  "report",
  "threat-actor",
  "tool",
  "vulnerability",
] as const;

/** §5 */
export const SRO_TYPES = ["relationship", "sighting"] as const;

/** §6 */
export const SCO_TYPES = [
  "artifact",
  "autonomous-system",
  "directory",
  "domain-name",
  "email-addr",
  "email-message",
  "file",
  "ipv4-addr",
  "ipv6-addr",
  "mac-addr",
  "mutex",
  "network-traffic",
  "process",
  "software",
  "url",
  "user-account",
  "windows-registry-key",
  "x509-certificate",
] as const;

/** §7 */
export const META_TYPES = [
  "language-content",
  "marking-definition",
  "extension-definition",
] as const;

export type SdoType = (typeof SDO_TYPES)[number];
export type SroType = (typeof SRO_TYPES)[number];
export type ScoType = (typeof SCO_TYPES)[number];
export type MetaType = (typeof META_TYPES)[number];

// ---------------------------------------------------------------- §3 common properties

/** Properties every SDO and SRO (and language content, extension definition) carries. */
export interface CommonProperties extends StixObject {
  readonly spec_version: "2.1";
  readonly id: Identifier;
  readonly created_by_ref?: Identifier<"identity">;
  readonly created: Timestamp;
  readonly modified: Timestamp;
  readonly revoked?: boolean;
  readonly labels?: string[];
  readonly confidence?: number;
  readonly lang?: string;
  readonly external_references?: ExternalReference[];
  readonly object_marking_refs?: Identifier<"marking-definition">[];
  readonly granular_markings?: GranularMarking[];
  readonly extensions?: Extensions;
}

/** Properties every SCO carries (§6: no `created`, `modified` or `created_by_ref`). */
export interface ScoCommonProperties extends StixObject {
  readonly spec_version?: "2.1";
  readonly id: Identifier;
  readonly object_marking_refs?: Identifier<"marking-definition">[];
  readonly granular_markings?: GranularMarking[];
  readonly defanged?: boolean;
  readonly extensions?: Extensions;
}

// ---------------------------------------------------------------- §10 vocabularies used by the types

export type AttackMotivation = OpenVocab<
  | "accidental"
  | "coercion"
  | "dominance"
  | "ideology"
  | "notoriety"
  | "organizational-gain"
  | "personal-gain"
  | "personal-satisfaction"
  | "revenge"
  | "unpredictable"
>;
export type AttackResourceLevel = OpenVocab<
  "individual" | "club" | "contest" | "team" | "organization" | "government"
>;
export type IdentityClass = OpenVocab<
  "individual" | "group" | "system" | "organization" | "class" | "unknown"
>;
export type IndicatorType = OpenVocab<
  | "anomalous-activity"
  | "anonymization"
  | "benign"
  | "compromised"
  | "malicious-activity"
  | "attribution"
  | "unknown"
>;
export type PatternType = OpenVocab<"stix" | "pcre" | "sigma" | "snort" | "suricata" | "yara">;
export type MalwareType = OpenVocab<
  | "adware"
  | "backdoor"
  | "bot"
  | "bootkit"
  | "ddos"
  | "downloader"
  | "dropper"
  | "exploit-kit"
  | "keylogger"
  | "ransomware"
  | "remote-access-trojan"
  | "resource-exploitation"
  | "rogue-security-software"
  | "rootkit"
  | "screen-capture"
  | "spyware"
  | "trojan"
  | "unknown"
  | "virus"
  | "webshell"
  | "wiper"
  | "worm"
>;
export type GroupingContext = OpenVocab<"suspicious-activity" | "malware-analysis" | "unspecified">;
export type ReportType = OpenVocab<
  | "attack-pattern"
  | "campaign"
  | "identity"
  | "indicator"
  | "intrusion-set"
  | "malware"
  | "observed-data"
  | "threat-actor"
  | "threat-report"
  | "tool"
  | "vulnerability"
>;
export type OpinionValue =
  "strongly-disagree" | "disagree" | "neutral" | "agree" | "strongly-agree";

// ---------------------------------------------------------------- §4 domain objects

export interface AttackPattern extends CommonProperties {
  readonly type: "attack-pattern";
  readonly id: Identifier<"attack-pattern">;
  readonly name: string;
  readonly description?: string;
  readonly aliases?: string[];
  readonly kill_chain_phases?: KillChainPhase[];
}

export interface Campaign extends CommonProperties {
  readonly type: "campaign";
  readonly id: Identifier<"campaign">;
  readonly name: string;
  readonly description?: string;
  readonly aliases?: string[];
  readonly first_seen?: Timestamp;
  readonly last_seen?: Timestamp;
  readonly objective?: string;
}

export interface CourseOfAction extends CommonProperties {
  readonly type: "course-of-action";
  readonly id: Identifier<"course-of-action">;
  readonly name: string;
  readonly description?: string;
}

export interface Grouping extends CommonProperties {
  readonly type: "grouping";
  readonly id: Identifier<"grouping">;
  readonly name?: string;
  readonly description?: string;
  readonly context: GroupingContext;
  readonly object_refs: Identifier[];
}

export interface Identity extends CommonProperties {
  readonly type: "identity";
  readonly id: Identifier<"identity">;
  readonly name: string;
  readonly description?: string;
  readonly roles?: string[];
  readonly identity_class?: IdentityClass;
  readonly sectors?: string[];
  readonly contact_information?: string;
}

export interface Incident extends CommonProperties {
  readonly type: "incident";
  readonly id: Identifier<"incident">;
  readonly name: string;
  readonly description?: string;
  readonly kill_chain_phases?: KillChainPhase[];
}

export interface Indicator extends CommonProperties {
  readonly type: "indicator";
  readonly id: Identifier<"indicator">;
  readonly name?: string;
  readonly description?: string;
  readonly indicator_types?: IndicatorType[];
  readonly pattern: string;
  readonly pattern_type: PatternType;
  readonly pattern_version?: string;
  readonly valid_from: Timestamp;
  readonly valid_until?: Timestamp;
  readonly kill_chain_phases?: KillChainPhase[];
}

export interface Infrastructure extends CommonProperties {
  readonly type: "infrastructure";
  readonly id: Identifier<"infrastructure">;
  readonly name: string;
  readonly description?: string;
  readonly infrastructure_types?: string[];
  readonly aliases?: string[];
  readonly kill_chain_phases?: KillChainPhase[];
  readonly first_seen?: Timestamp;
  readonly last_seen?: Timestamp;
}

export interface IntrusionSet extends CommonProperties {
  readonly type: "intrusion-set";
  readonly id: Identifier<"intrusion-set">;
  readonly name: string;
  readonly description?: string;
  readonly aliases?: string[];
  readonly first_seen?: Timestamp;
  readonly last_seen?: Timestamp;
  readonly goals?: string[];
  readonly resource_level?: AttackResourceLevel;
  readonly primary_motivation?: AttackMotivation;
  readonly secondary_motivations?: AttackMotivation[];
}

export interface Location extends CommonProperties {
  readonly type: "location";
  readonly id: Identifier<"location">;
  readonly name?: string;
  readonly description?: string;
  readonly latitude?: number;
  readonly longitude?: number;
  readonly precision?: number;
  readonly region?: string;
  readonly country?: string;
  readonly administrative_area?: string;
  readonly city?: string;
  readonly street_address?: string;
  readonly postal_code?: string;
}

export interface Malware extends CommonProperties {
  readonly type: "malware";
  readonly id: Identifier<"malware">;
  readonly name?: string;
  readonly description?: string;
  readonly malware_types?: MalwareType[];
  readonly is_family: boolean;
  readonly aliases?: string[];
  readonly kill_chain_phases?: KillChainPhase[];
  readonly first_seen?: Timestamp;
  readonly last_seen?: Timestamp;
  readonly operating_system_refs?: Identifier<"software">[];
  readonly architecture_execution_envs?: string[];
  readonly implementation_languages?: string[];
  readonly capabilities?: string[];
  readonly sample_refs?: Identifier<"file" | "artifact">[];
}

export interface MalwareAnalysis extends CommonProperties {
  readonly type: "malware-analysis";
  readonly id: Identifier<"malware-analysis">;
  readonly product: string;
  readonly version?: string;
  readonly host_vm_ref?: Identifier<"software">;
  readonly operating_system_ref?: Identifier<"software">;
  readonly installed_software_refs?: Identifier<"software">[];
  readonly configuration_version?: string;
  readonly modules?: string[];
  readonly analysis_engine_version?: string;
  readonly analysis_definition_version?: string;
  readonly submitted?: Timestamp;
  readonly analysis_started?: Timestamp;
  readonly analysis_ended?: Timestamp;
  readonly result_name?: string;
  readonly result?: OpenVocab<"malicious" | "suspicious" | "benign" | "unknown">;
  readonly analysis_sco_refs?: Identifier[];
  readonly sample_ref?: Identifier<"file" | "artifact" | "network-traffic">;
}

export interface Note extends CommonProperties {
  readonly type: "note";
  readonly id: Identifier<"note">;
  readonly abstract?: string;
  readonly content: string;
  readonly authors?: string[];
  readonly object_refs: Identifier[];
}

export interface ObservedData extends CommonProperties {
  readonly type: "observed-data";
  readonly id: Identifier<"observed-data">;
  readonly first_observed: Timestamp;
  readonly last_observed: Timestamp;
  readonly number_observed: number;
  /** Deprecated in 2.1 (§4.14): SCOs embedded by local key; use `object_refs`. */
  readonly objects?: Readonly<Record<string, JsonObject>>;
  readonly object_refs?: Identifier[];
}

export interface Opinion extends CommonProperties {
  readonly type: "opinion";
  readonly id: Identifier<"opinion">;
  readonly explanation?: string;
  readonly authors?: string[];
  readonly opinion: OpinionValue;
  readonly object_refs: Identifier[];
}

export interface Report extends CommonProperties {
  readonly type: "report";
  readonly id: Identifier<"report">;
  readonly name: string;
  readonly description?: string;
  readonly report_types?: ReportType[];
  readonly published: Timestamp;
  readonly object_refs: Identifier[];
}

export interface ThreatActor extends CommonProperties {
  readonly type: "threat-actor";
  readonly id: Identifier<"threat-actor">;
  readonly name: string;
  readonly description?: string;
  readonly threat_actor_types?: string[];
  readonly aliases?: string[];
  readonly first_seen?: Timestamp;
  readonly last_seen?: Timestamp;
  readonly roles?: string[];
  readonly goals?: string[];
  readonly sophistication?: string;
  readonly resource_level?: AttackResourceLevel;
  readonly primary_motivation?: AttackMotivation;
  readonly secondary_motivations?: AttackMotivation[];
  readonly personal_motivations?: AttackMotivation[];
}

export interface Tool extends CommonProperties {
  readonly type: "tool";
  readonly id: Identifier<"tool">;
  readonly name: string;
  readonly description?: string;
  readonly tool_types?: string[];
  readonly aliases?: string[];
  readonly kill_chain_phases?: KillChainPhase[];
  readonly tool_version?: string;
}

export interface Vulnerability extends CommonProperties {
  readonly type: "vulnerability";
  readonly id: Identifier<"vulnerability">;
  readonly name: string;
  readonly description?: string;
}

// ---------------------------------------------------------------- §5 relationship objects

export interface Relationship extends CommonProperties {
  readonly type: "relationship";
  readonly id: Identifier<"relationship">;
  readonly relationship_type: string;
  readonly description?: string;
  /** Not a relationship, sighting, bundle, marking definition or language content (§5.1). */
  readonly source_ref: Identifier;
  readonly target_ref: Identifier;
  readonly start_time?: Timestamp;
  readonly stop_time?: Timestamp;
}

export interface Sighting extends CommonProperties {
  readonly type: "sighting";
  readonly id: Identifier<"sighting">;
  readonly description?: string;
  readonly first_seen?: Timestamp;
  readonly last_seen?: Timestamp;
  readonly count?: number;
  readonly sighting_of_ref: Identifier;
  readonly observed_data_refs?: Identifier<"observed-data">[];
  readonly where_sighted_refs?: Identifier<"identity" | "location">[];
  readonly summary?: boolean;
}

// ---------------------------------------------------------------- §6 cyber-observable objects

export interface Artifact extends ScoCommonProperties {
  readonly type: "artifact";
  readonly id: Identifier<"artifact">;
  readonly mime_type?: string;
  readonly payload_bin?: string;
  readonly url?: string;
  readonly hashes?: Hashes;
  readonly encryption_algorithm?: "AES-256-GCM" | "ChaCha20-Poly1305" | "mime-type-indicated";
  readonly decryption_key?: string;
}

export interface AutonomousSystem extends ScoCommonProperties {
  readonly type: "autonomous-system";
  readonly id: Identifier<"autonomous-system">;
  readonly number: number;
  readonly name?: string;
  readonly rir?: string;
}

export interface Directory extends ScoCommonProperties {
  readonly type: "directory";
  readonly id: Identifier<"directory">;
  readonly path: string;
  readonly path_enc?: string;
  readonly ctime?: Timestamp;
  readonly mtime?: Timestamp;
  readonly atime?: Timestamp;
  readonly contains_refs?: Identifier<"file" | "directory">[];
}

export interface DomainName extends ScoCommonProperties {
  readonly type: "domain-name";
  readonly id: Identifier<"domain-name">;
  readonly value: string;
  readonly resolves_to_refs?: Identifier<"ipv4-addr" | "ipv6-addr" | "domain-name">[];
}

export interface EmailAddr extends ScoCommonProperties {
  readonly type: "email-addr";
  readonly id: Identifier<"email-addr">;
  readonly value: string;
  readonly display_name?: string;
  readonly belongs_to_ref?: Identifier<"user-account">;
}

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- an alias is assignable to JsonObject; an interface is not
export type EmailMimePart = {
  readonly body?: string;
  readonly body_raw_ref?: Identifier<"artifact" | "file">;
  readonly content_type?: string;
  readonly content_disposition?: string;
};

export interface EmailMessage extends ScoCommonProperties {
  readonly type: "email-message";
  readonly id: Identifier<"email-message">;
  readonly is_multipart: boolean;
  readonly date?: Timestamp;
  readonly content_type?: string;
  readonly from_ref?: Identifier<"email-addr">;
  readonly sender_ref?: Identifier<"email-addr">;
  readonly to_refs?: Identifier<"email-addr">[];
  readonly cc_refs?: Identifier<"email-addr">[];
  readonly bcc_refs?: Identifier<"email-addr">[];
  readonly message_id?: string;
  readonly subject?: string;
  readonly received_lines?: string[];
  readonly additional_header_fields?: Readonly<Record<string, string | string[]>>;
  readonly body?: string;
  readonly body_multipart?: EmailMimePart[];
  readonly raw_email_ref?: Identifier<"artifact">;
}

export interface File extends ScoCommonProperties {
  readonly type: "file";
  readonly id: Identifier<"file">;
  readonly hashes?: Hashes;
  readonly size?: number;
  readonly name?: string;
  readonly name_enc?: string;
  readonly magic_number_hex?: string;
  readonly mime_type?: string;
  readonly ctime?: Timestamp;
  readonly mtime?: Timestamp;
  readonly atime?: Timestamp;
  readonly parent_directory_ref?: Identifier<"directory">;
  readonly contains_refs?: Identifier[];
  readonly content_ref?: Identifier<"artifact">;
}

export interface Ipv4Addr extends ScoCommonProperties {
  readonly type: "ipv4-addr";
  readonly id: Identifier<"ipv4-addr">;
  readonly value: string;
  readonly resolves_to_refs?: Identifier<"mac-addr">[];
  readonly belongs_to_refs?: Identifier<"autonomous-system">[];
}

export interface Ipv6Addr extends ScoCommonProperties {
  readonly type: "ipv6-addr";
  readonly id: Identifier<"ipv6-addr">;
  readonly value: string;
  readonly resolves_to_refs?: Identifier<"mac-addr">[];
  readonly belongs_to_refs?: Identifier<"autonomous-system">[];
}

export interface MacAddr extends ScoCommonProperties {
  readonly type: "mac-addr";
  readonly id: Identifier<"mac-addr">;
  readonly value: string;
}

export interface Mutex extends ScoCommonProperties {
  readonly type: "mutex";
  readonly id: Identifier<"mutex">;
  readonly name: string;
}

export interface NetworkTraffic extends ScoCommonProperties {
  readonly type: "network-traffic";
  readonly id: Identifier<"network-traffic">;
  readonly start?: Timestamp;
  readonly end?: Timestamp;
  readonly is_active?: boolean;
  readonly src_ref?: Identifier<"ipv4-addr" | "ipv6-addr" | "mac-addr" | "domain-name">;
  readonly dst_ref?: Identifier<"ipv4-addr" | "ipv6-addr" | "mac-addr" | "domain-name">;
  readonly src_port?: number;
  readonly dst_port?: number;
  readonly protocols: string[];
  readonly src_byte_count?: number;
  readonly dst_byte_count?: number;
  readonly src_packets?: number;
  readonly dst_packets?: number;
  readonly ipfix?: Readonly<Record<string, string | number>>;
  readonly src_payload_ref?: Identifier<"artifact">;
  readonly dst_payload_ref?: Identifier<"artifact">;
  readonly encapsulates_refs?: Identifier<"network-traffic">[];
  readonly encapsulated_by_ref?: Identifier<"network-traffic">;
}

export interface Process extends ScoCommonProperties {
  readonly type: "process";
  readonly id: Identifier<"process">;
  readonly is_hidden?: boolean;
  readonly pid?: number;
  readonly created_time?: Timestamp;
  readonly cwd?: string;
  readonly command_line?: string;
  readonly environment_variables?: Readonly<Record<string, string>>;
  readonly opened_connection_refs?: Identifier<"network-traffic">[];
  readonly creator_user_ref?: Identifier<"user-account">;
  readonly image_ref?: Identifier<"file">;
  readonly parent_ref?: Identifier<"process">;
  readonly child_refs?: Identifier<"process">[];
}

export interface Software extends ScoCommonProperties {
  readonly type: "software";
  readonly id: Identifier<"software">;
  readonly name: string;
  readonly cpe?: string;
  readonly swid?: string;
  readonly languages?: string[];
  readonly vendor?: string;
  readonly version?: string;
}

export interface Url extends ScoCommonProperties {
  readonly type: "url";
  readonly id: Identifier<"url">;
  readonly value: string;
}

export interface UserAccount extends ScoCommonProperties {
  readonly type: "user-account";
  readonly id: Identifier<"user-account">;
  readonly user_id?: string;
  readonly credential?: string;
  readonly account_login?: string;
  readonly account_type?: OpenVocab<
    | "facebook"
    | "ldap"
    | "nis"
    | "openid"
    | "radius"
    | "skype"
    | "tacacs"
    | "twitter"
    | "unix"
    | "windows-local"
    | "windows-domain"
  >;
  readonly display_name?: string;
  readonly is_service_account?: boolean;
  readonly is_privileged?: boolean;
  readonly can_escalate_privs?: boolean;
  readonly is_disabled?: boolean;
  readonly account_created?: Timestamp;
  readonly account_expires?: Timestamp;
  readonly credential_last_changed?: Timestamp;
  readonly account_first_login?: Timestamp;
  readonly account_last_login?: Timestamp;
}

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- an alias is assignable to JsonObject; an interface is not
export type WindowsRegistryValue = {
  readonly name?: string;
  readonly data?: string;
  readonly data_type?: string;
};

export interface WindowsRegistryKey extends ScoCommonProperties {
  readonly type: "windows-registry-key";
  readonly id: Identifier<"windows-registry-key">;
  readonly key?: string;
  readonly values?: WindowsRegistryValue[];
  readonly modified_time?: Timestamp;
  readonly creator_user_ref?: Identifier<"user-account">;
  readonly number_of_subkeys?: number;
}

export interface X509Certificate extends ScoCommonProperties {
  readonly type: "x509-certificate";
  readonly id: Identifier<"x509-certificate">;
  readonly is_self_signed?: boolean;
  readonly hashes?: Hashes;
  readonly version?: string;
  readonly serial_number?: string;
  readonly signature_algorithm?: string;
  readonly issuer?: string;
  readonly validity_not_before?: Timestamp;
  readonly validity_not_after?: Timestamp;
  readonly subject?: string;
  readonly subject_public_key_algorithm?: string;
  readonly subject_public_key_modulus?: string;
  readonly subject_public_key_exponent?: number;
  readonly x509_v3_extensions?: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------- §7 meta objects

export interface LanguageContent extends CommonProperties {
  readonly type: "language-content";
  readonly id: Identifier<"language-content">;
  readonly object_ref: Identifier;
  readonly object_modified?: Timestamp;
  /** Language tag (RFC 5646) to property name to translated content. */
  readonly contents: Readonly<Record<string, JsonObject>>;
}

/** §7.2.1.3 */
// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- an alias is assignable to JsonObject; an interface is not
export type StatementMarking = { readonly statement: string };
/** §7.2.1.4 (TLP 1.0; TLP 2.0 markings use the extension instead) */
// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- an alias is assignable to JsonObject; an interface is not
export type TlpMarking = { readonly tlp: "white" | "green" | "amber" | "red" };

/** §7.2.1: not versioned, so `created` and no `modified`. */
export interface MarkingDefinition extends StixObject {
  readonly type: "marking-definition";
  readonly spec_version: "2.1";
  readonly id: Identifier<"marking-definition">;
  readonly created_by_ref?: Identifier<"identity">;
  readonly created: Timestamp;
  readonly name?: string;
  readonly definition_type?: OpenVocab<"statement" | "tlp">;
  readonly definition?: StatementMarking | TlpMarking | JsonObject;
  readonly external_references?: ExternalReference[];
  readonly object_marking_refs?: Identifier<"marking-definition">[];
  readonly granular_markings?: GranularMarking[];
  readonly extensions?: Extensions;
}

export interface ExtensionDefinition extends CommonProperties {
  readonly type: "extension-definition";
  readonly id: Identifier<"extension-definition">;
  readonly name: string;
  readonly description?: string;
  readonly schema: string;
  readonly version: string;
  readonly extension_types: ExtensionType[];
  readonly extension_properties?: string[];
}

// ---------------------------------------------------------------- the union

export interface StixTypeMap {
  "attack-pattern": AttackPattern;
  campaign: Campaign;
  "course-of-action": CourseOfAction;
  grouping: Grouping;
  identity: Identity;
  incident: Incident;
  indicator: Indicator;
  infrastructure: Infrastructure;
  "intrusion-set": IntrusionSet;
  location: Location;
  malware: Malware;
  "malware-analysis": MalwareAnalysis;
  note: Note;
  "observed-data": ObservedData;
  opinion: Opinion;
  report: Report;
  "threat-actor": ThreatActor;
  tool: Tool;
  vulnerability: Vulnerability;
  relationship: Relationship;
  sighting: Sighting;
  artifact: Artifact;
  "autonomous-system": AutonomousSystem;
  directory: Directory;
  "domain-name": DomainName;
  "email-addr": EmailAddr;
  "email-message": EmailMessage;
  file: File;
  "ipv4-addr": Ipv4Addr;
  "ipv6-addr": Ipv6Addr;
  "mac-addr": MacAddr;
  mutex: Mutex;
  "network-traffic": NetworkTraffic;
  process: Process;
  software: Software;
  url: Url;
  "user-account": UserAccount;
  "windows-registry-key": WindowsRegistryKey;
  "x509-certificate": X509Certificate;
  "language-content": LanguageContent;
  "marking-definition": MarkingDefinition;
  "extension-definition": ExtensionDefinition;
}

export type StixType = keyof StixTypeMap;
export type KnownStixObject = StixTypeMap[StixType];
export type DomainObject = StixTypeMap[SdoType];
export type RelationshipObject = StixTypeMap[SroType];
export type CyberObservable = StixTypeMap[ScoType];

/** §11.2 a custom object: any type name outside the specification. */
export interface CustomObject extends StixObject {
  readonly type: string;
  readonly id: Identifier;
}

export type AnyStixObject = KnownStixObject | CustomObject;

/** §8: `objects` is always present on a bundle `parseStix` returns (empty when the input had none). */
export interface Bundle {
  readonly type: "bundle";
  readonly id: Identifier<"bundle">;
  readonly objects: AnyStixObject[];
}

/** Narrows an object to the type its `type` property names. */
export function isStixType<T extends StixType>(o: StixObject, type: T): o is StixTypeMap[T] {
  return o.type === type;
}
