/**
 * The STIX 2.1 object definitions (OASIS Standard, 10 June 2021) as validator tables: for every
 * type, its properties with their types, what is required, and the rules across properties.
 *
 * Mirrors the OASIS JSON schemas (cti-stix2-json-schemas, `schemas/`) property by property, and
 * departs from them only where the prose specification says otherwise; each departure is listed
 * in spec/stix-validation.md and asserted by test/core/stix/oracle.test.ts.
 *
 * §3 common properties; §4 SDOs (§4.1 attack-pattern … §4.19 vulnerability); §5 SROs; §6 SCOs
 * with their predefined extensions; §7.1 language content; §7.2.1 marking definition; §7.3
 * extension definition; §11 customizing.
 */
import {
  anyOf,
  binary,
  bool,
  checkShape,
  dictionary,
  enumOf,
  equals,
  exactlyOne,
  forbiddenWhen,
  format,
  hashes,
  hex,
  int,
  isRecord,
  list,
  num,
  object,
  pattern,
  present,
  q,
  ref,
  requiredWhen,
  scoRef,
  shape,
  step,
  str,
  timeOrder,
  timestamp,
  timestampMillis,
  timestampSeconds,
  type Check,
  type Collector,
  type Rule,
  type Shape,
  type ShapeDefinition,
  vocabularyHashes,
} from "./checks.js";
import {
  identifierType,
  isEmail,
  isHostname,
  isIpv4Cidr,
  isIpv6Cidr,
  isMac,
  isUri,
} from "./formats.js";
import { EXTENSION_TYPES, SCO_TYPES, SDO_TYPES } from "./types.js";

// ---------------------------------------------------------------- common types (§2)

export const uri: Check = format(isUri, "format.uri", "a URI (RFC 3986)");

/** The ids every CVE and CAPEC reference carries (§2.4). */
const CVE_ID = /^CVE-\d{4}-(?:0\d{3}|[1-9]\d{3,})$/;
const CAPEC_ID = /^CAPEC-\d+$/;

/**
 * §2.4: a reference from `cve` carries a CVE id and one from `capec` a CAPEC id; a reference from
 * any other source does not carry such ids, and has an `external_id`, a `description` or a `url`.
 */
const externalReferenceRule: Rule = (o, path, cx) => {
  const source = o.source_name;
  if (typeof source !== "string") return;
  const id = o.external_id;
  const at = `${path}.external_id`;
  if (source === "cve" || source === "capec") {
    const re = source === "cve" ? CVE_ID : CAPEC_ID;
    if (id === undefined)
      cx.add(at, "required", `\`external_id\` is required when \`source_name\` is \`${source}\``);
    else if (typeof id === "string" && !re.test(id))
      cx.add(
        at,
        "format.pattern",
        `${q(id)} is not a ${source === "cve" ? "CVE id (`CVE-YYYY-NNNN`)" : "CAPEC id (`CAPEC-N`)"}`,
      );
    return;
  }
  if (typeof id === "string" && (CVE_ID.test(id) || CAPEC_ID.test(id))) {
    const which = CVE_ID.test(id) ? "cve" : "capec";
    cx.add(
      `${path}.source_name`,
      "conflict",
      `${q(id)} is a ${which} id, so \`source_name\` must be \`${which}\``,
    );
  }
  if (id === undefined && o.description === undefined && o.url === undefined)
    cx.add(path, "required-one-of", "one of `external_id`, `description` or `url` is required");
};

export const externalReference: Check = object({
  props: {
    source_name: str,
    description: str,
    url: uri,
    external_id: str,
    hashes: vocabularyHashes,
  },
  required: ["source_name"],
  rules: [externalReferenceRule],
  extra: "any",
});

export const killChainPhase: Check = object({
  props: { kill_chain_name: str, phase_name: str },
  required: ["kill_chain_name", "phase_name"],
  extra: "any",
});

/** §7.2.3.1: property names and `[n]` list indexes joined by dots, or `id`. */
const SELECTOR = /^(?:[a-z0-9_-]{3,249}(?:\.(?:\[\d+\]|[a-z0-9_-]{1,250}))*|id)$/;

const markingRef = ref({ only: ["marking-definition"] });

/** §7.2.3: a marking definition or a language applied to the selected content. */
export const granularMarking: Check = object({
  props: {
    selectors: list(
      format((s) => SELECTOR.test(s), "format.selector", "a granular-marking selector"),
    ),
    lang: str,
    marking_ref: markingRef,
  },
  required: ["selectors"],
  rules: [anyOf("marking_ref", "lang")],
  extra: "any",
});

// ---------------------------------------------------------------- extensions (§3 common properties, §7.3)

/** The name of a predefined or custom `…-ext` extension (a type name ending in `-ext`). */
const EXT_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*-ext$/;

/** §7.3: the content of an extension defined by an extension-definition object. */
const definedExtension: Check = object({
  props: { extension_type: enumOf(EXTENSION_TYPES) },
  required: ["extension_type"],
  extra: "custom",
  nonEmpty: true,
});

/** A `…-ext` extension with no predefined shape: custom properties, at least one. */
const customExtension: Check = object({ props: {}, extra: "custom", nonEmpty: true });

/**
 * The common property `extensions` (§3): keys are `…-ext` names or extension-definition ids.
 * `predefined` gives the shapes of the §6 extensions of an SCO type; `extDefinitionsOnly` is the
 * marking-definition rule (only extension-definition ids).
 */
function extensions(
  predefined: Readonly<Record<string, Check>> = {},
  extDefinitionsOnly = false,
): Check {
  const known = new Map(Object.entries(predefined));
  return (v, path, cx) => {
    if (!isRecord(v)) {
      cx.add(path, "type", "expected an object");
      return;
    }
    let n = 0;
    for (const key of Object.keys(v)) {
      const x = v[key];
      if (x === undefined) continue;
      n++;
      const at = path + step(key);
      if (identifierType(key) === "extension-definition") {
        definedExtension(x, at, cx);
        continue;
      }
      if (!extDefinitionsOnly && EXT_NAME.test(key) && key.length <= 250) {
        (known.get(key) ?? customExtension)(x, at, cx);
        continue;
      }
      const expected = extDefinitionsOnly
        ? "an extension-definition id"
        : "an extension-definition id or a name ending in `-ext`";
      cx.add(
        at,
        "format.extension-name",
        `${q(key)} is not an extension name: expected ${expected}`,
      );
    }
    if (n === 0) cx.add(path, "empty", "`extensions` must not be empty");
  };
}

// ---------------------------------------------------------------- common properties (§3)

/** §3 (Common Properties) and §11: names that are reserved and must not be used as properties. */
const RESERVED_PROPERTIES = ["severity", "action", "username", "phone_numbers"];

/** Validated by the object walker before the property tables are consulted. */
const checkedElsewhere: Check = () => undefined;

const specVersion: Check = (v, path, cx) => {
  if (typeof v !== "string") cx.add(path, "type", `expected the string \`2.1\`, found ${typeof v}`);
  else if (v !== "2.1")
    cx.add(path, "enum", `${q(v)} is not supported: \`spec_version\` must be \`2.1\``);
};

const sdoCommon: Readonly<Record<string, Check>> = {
  type: checkedElsewhere,
  id: checkedElsewhere,
  spec_version: specVersion,
  created_by_ref: ref({ only: ["identity"] }),
  labels: list(str),
  created: timestampMillis,
  modified: timestampMillis,
  revoked: bool,
  confidence: int(0, 100),
  lang: str,
  external_references: list(externalReference),
  object_marking_refs: list(markingRef),
  granular_markings: list(granularMarking),
  extensions: extensions(),
};

const scoCommon: Readonly<Record<string, Check>> = {
  type: checkedElsewhere,
  id: checkedElsewhere,
  spec_version: specVersion,
  object_marking_refs: list(markingRef),
  granular_markings: list(granularMarking),
  defanged: bool,
  extensions: extensions(),
};

export type ObjectClass = "sdo" | "sro" | "sco" | "meta";

export interface TypeDefinition {
  readonly class: ObjectClass;
  readonly shape: Shape;
}

function sdo(
  props: Readonly<Record<string, Check>>,
  required: readonly string[],
  rules: readonly Rule[] = [],
  cls: ObjectClass = "sdo",
): TypeDefinition {
  return {
    class: cls,
    shape: shape({
      props: { ...sdoCommon, ...props },
      required: ["type", "spec_version", "id", "created", "modified", ...required],
      rules,
      extra: "custom",
      reserved: RESERVED_PROPERTIES,
    }),
  };
}

function sco(
  props: Readonly<Record<string, Check>>,
  required: readonly string[],
  rules: readonly Rule[] = [],
  predefinedExtensions?: Readonly<Record<string, Check>>,
): TypeDefinition {
  const own =
    predefinedExtensions === undefined
      ? props
      : { ...props, extensions: extensions(predefinedExtensions) };
  return {
    class: "sco",
    shape: shape({
      props: { ...scoCommon, ...own },
      required: ["type", "id", ...required],
      rules,
      extra: "custom",
      reserved: RESERVED_PROPERTIES,
    }),
  };
}

/** Custom objects (§11.2) with `created` or `modified` follow the SDO rules, the others the SCO rules. */
export const CUSTOM_SDO: TypeDefinition = sdo({}, []);
export const CUSTOM_SCO: TypeDefinition = sco({}, []);

// ---------------------------------------------------------------- domain objects (§4)

const strings = list(str);
const phases = list(killChainPhase);
const anyRef = ref();
const anyRefs = list(anyRef);
const lastSeen = timeOrder("first_seen", "last_seen", false);

const SDO_TYPE_SET: ReadonlySet<string> = new Set(SDO_TYPES);

/** §4.14 `object_refs`: SCOs and SROs; never an SDO or a meta object. */
const observedRef: Check = (v, path, cx) => {
  anyRef(v, path, cx);
  const type = typeof v === "string" ? identifierType(v) : undefined;
  if (type === undefined) return;
  if (
    SDO_TYPE_SET.has(type) ||
    type === "marking-definition" ||
    type === "language-content" ||
    type === "extension-definition" ||
    type === "bundle"
  )
    cx.add(
      path,
      "ref-type",
      `${q(v as string)} must reference a cyber-observable or relationship object, not \`${type}\``,
    );
};

/** Not the target of a relationship or a sighting (§5.1, §5.2). */
const NOT_RELATABLE = [
  "relationship",
  "sighting",
  "bundle",
  "marking-definition",
  "language-content",
];

const observedObjects: Check = (v, path, cx) => {
  if (!isRecord(v)) {
    cx.add(path, "type", "expected an object");
    return;
  }
  const outer = cx.embedded;
  cx.embedded = true;
  let n = 0;
  for (const key of Object.keys(v)) {
    const x = v[key];
    if (x === undefined) continue;
    n++;
    embeddedObservable(x, path + step(key), cx);
  }
  cx.embedded = outer;
  if (n === 0) cx.add(path, "empty", "`objects` must not be empty");
};

const lat = num(-90, 90);
const lon = num(-180, 180);

// ---------------------------------------------------------------- SCO extensions and helpers (§6)

/** A predefined extension: its properties, custom properties allowed, at least one property. */
function extensionShape(
  props: Readonly<Record<string, Check>>,
  required: readonly string[],
  rules: readonly Rule[] = [],
): Check {
  return object({ props, required, rules, extra: "custom", nonEmpty: true });
}

function stringOrInteger(v: unknown, path: string, cx: Collector): void {
  if (typeof v !== "string" && !(typeof v === "number" && Number.isInteger(v)))
    cx.add(path, "type", "expected a string or an integer");
}

/** §6.7.2–§6.7.6 */
function fileExtensions(): Readonly<Record<string, Check>> {
  const section = object({
    props: { name: str, size: int(0), entropy: num(), hashes },
    required: ["name"],
    extra: "any",
  });
  const optionalHeader = object({
    props: {
      magic_hex: hex,
      major_linker_version: int(),
      minor_linker_version: int(),
      size_of_code: int(0),
      size_of_initialized_data: int(0),
      size_of_uninitialized_data: int(0),
      address_of_entry_point: int(),
      base_of_code: int(),
      base_of_data: int(),
      image_base: int(),
      section_alignment: int(),
      file_alignment: int(),
      major_os_version: int(),
      minor_os_version: int(),
      major_image_version: int(),
      minor_image_version: int(),
      major_subsystem_version: int(),
      minor_subsystem_version: int(),
      win32_version_value_hex: hex,
      size_of_image: int(0),
      size_of_headers: int(0),
      checksum_hex: hex,
      subsystem_hex: hex,
      dll_characteristics_hex: hex,
      size_of_stack_reserve: int(0),
      size_of_stack_commit: int(0),
      size_of_heap_reserve: int(0),
      size_of_heap_commit: int(0),
      loader_flags_hex: hex,
      number_of_rva_and_sizes: int(),
      hashes,
    },
    extra: "none",
    nonEmpty: true,
  });
  return {
    "ntfs-ext": extensionShape(
      {
        sid: str,
        alternate_data_streams: list(
          object({ props: { name: str, hashes, size: int(0) }, required: ["name"], extra: "any" }),
        ),
      },
      [],
      [anyOf("sid", "alternate_data_streams")],
    ),
    "raster-image-ext": extensionShape(
      {
        image_height: int(),
        image_width: int(),
        bits_per_pixel: int(),
        exif_tags: dictionary({
          key: (k) => EXIF_TAG.test(k),
          keyWhat: "an EXIF tag name (a capital letter, then letters, digits, `-` or `_`)",
          value: stringOrInteger,
        }),
      },
      [],
      // `image_compression_algorithm` is a STIX 2.0 property the OASIS schema still lists.
      [
        anyOf(
          "image_height",
          "image_width",
          "bits_per_pixel",
          "image_compression_algorithm",
          "exif_tags",
        ),
      ],
    ),
    "pdf-ext": extensionShape(
      {
        version: str,
        is_optimized: bool,
        document_info_dict: dictionary({ value: str }),
        pdfid0: str,
        pdfid1: str,
      },
      [],
      [anyOf("version", "is_optimized", "document_info_dict", "pdfid0", "pdfid1")],
    ),
    "archive-ext": extensionShape(
      { contains_refs: list(scoRef(["file", "directory"])), comment: str },
      ["contains_refs"],
    ),
    "windows-pebinary-ext": extensionShape(
      {
        pe_type: str,
        imphash: str,
        machine_hex: hex,
        number_of_sections: int(0),
        time_date_stamp: timestampSeconds,
        pointer_to_symbol_table_hex: hex,
        number_of_symbols: int(0),
        size_of_optional_header: int(0),
        characteristics_hex: hex,
        file_header_hashes: hashes,
        optional_header: optionalHeader,
        sections: list(section),
      },
      ["pe_type"],
      [
        anyOf(
          "imphash",
          "machine_hex",
          "number_of_sections",
          "time_date_stamp",
          "pointer_to_symbol_table_hex",
          "number_of_symbols",
          "size_of_optional_header",
          "characteristics_hex",
          "file_header_hashes",
          "optional_header",
          "sections",
        ),
      ],
    ),
  };
}

const EXIF_TAG = /^[A-Z][a-zA-Z0-9_-]+$/;

/** §6.12.2–§6.12.5 */
function networkTrafficExtensions(): Readonly<Record<string, Check>> {
  return {
    "http-request-ext": extensionShape(
      {
        request_method: str,
        request_value: str,
        request_version: str,
        request_header: dictionary({ value: strings }),
        message_body_length: int(),
        message_body_data_ref: scoRef(["artifact"]),
      },
      ["request_method", "request_value"],
    ),
    "icmp-ext": extensionShape({ icmp_type_hex: hex, icmp_code_hex: hex }, [
      "icmp_type_hex",
      "icmp_code_hex",
    ]),
    "socket-ext": extensionShape(
      {
        address_family: enumOf([
          "AF_UNSPEC",
          "AF_INET",
          "AF_IPX",
          "AF_APPLETALK",
          "AF_NETBIOS",
          "AF_INET6",
          "AF_IRDA",
          "AF_BTH",
        ]),
        is_blocking: bool,
        is_listening: bool,
        options: dictionary({
          key: (k) => SOCKET_OPTION.test(k),
          keyWhat: "a socket option name such as `SO_REUSEADDR`",
          value: int(),
        }),
        socket_type: enumOf([
          "SOCK_STREAM",
          "SOCK_DGRAM",
          "SOCK_RAW",
          "SOCK_RDM",
          "SOCK_SEQPACKET",
        ]),
        socket_descriptor: int(0),
        socket_handle: int(),
      },
      ["address_family"],
    ),
    "tcp-ext": extensionShape(
      { src_flags_hex: hex, dst_flags_hex: hex },
      [],
      [anyOf("src_flags_hex", "dst_flags_hex")],
    ),
  };
}

const SOCKET_OPTION = /^(?:SO|ICMP|ICMP6|IP|IPV6|MCAST|TCP|IRLMP)(?:_[A-Z]+)+$/;

/** §6.13.2 `startup_info`: the STARTUPINFO members, by their Windows names and types. */
const STARTUP_INFO_STRINGS = new Set([
  "lpDesktop",
  "lpTitle",
  "dwFillAttribute",
  "dwFlags",
  "wShowWindow",
  "hStdInput",
  "hStdOutput",
  "hStdError",
]);
const STARTUP_INFO_INTEGERS = new Set([
  "cb",
  "dwX",
  "dwY",
  "dwXSize",
  "dwYSize",
  "dwXCountChars",
  "dwYCountChars",
  "cbReserved2",
]);

const startupInfo: Check = dictionary({
  key: (k) => STARTUP_INFO_STRINGS.has(k) || STARTUP_INFO_INTEGERS.has(k),
  keyWhat: "a STARTUPINFO member name",
  entry: (key, v, path, cx) => {
    if (STARTUP_INFO_STRINGS.has(key)) str(v, path, cx);
    else if (key === "cbReserved2") int(0, 0)(v, path, cx);
    else if (STARTUP_INFO_INTEGERS.has(key)) int()(v, path, cx);
  },
});

/** §6.13.2–§6.13.3 */
function processExtensions(): Readonly<Record<string, Check>> {
  return {
    "windows-process-ext": extensionShape(
      {
        aslr_enabled: bool,
        dep_enabled: bool,
        priority: str,
        owner_sid: str,
        window_title: str,
        startup_info: startupInfo,
        integrity_level: enumOf(["low", "medium", "high", "system"]),
      },
      [],
      [
        anyOf(
          "aslr_enabled",
          "dep_enabled",
          "priority",
          "owner_sid",
          "window_title",
          "startup_info",
        ),
      ],
    ),
    "windows-service-ext": extensionShape(
      {
        service_name: str,
        descriptions: strings,
        display_name: str,
        group_name: str,
        start_type: enumOf([
          "SERVICE_AUTO_START",
          "SERVICE_BOOT_START",
          "SERVICE_DEMAND_START",
          "SERVICE_DISABLED",
          "SERVICE_SYSTEM_ALERT",
        ]),
        service_dll_refs: list(scoRef(["file"])),
        service_type: enumOf([
          "SERVICE_KERNEL_DRIVER",
          "SERVICE_FILE_SYSTEM_DRIVER",
          "SERVICE_WIN32_OWN_PROCESS",
          "SERVICE_WIN32_SHARE_PROCESS",
        ]),
        service_status: enumOf([
          "SERVICE_CONTINUE_PENDING",
          "SERVICE_PAUSE_PENDING",
          "SERVICE_PAUSED",
          "SERVICE_RUNNING",
          "SERVICE_START_PENDING",
          "SERVICE_STOP_PENDING",
          "SERVICE_STOPPED",
        ]),
      },
      [],
      [
        anyOf(
          "service_name",
          "descriptions",
          "display_name",
          "group_name",
          "start_type",
          "service_dll_refs",
          "service_type",
          "service_status",
        ),
      ],
    ),
  };
}

/** §6.18.2 */
function x509Extensions(): Check {
  const names = [
    "basic_constraints",
    "name_constraints",
    "policy_constraints",
    "key_usage",
    "extended_key_usage",
    "subject_key_identifier",
    "authority_key_identifier",
    "subject_alternative_name",
    "issuer_alternative_name",
    "subject_directory_attributes",
    "crl_distribution_points",
    "inhibit_any_policy",
    "certificate_policies",
    "policy_mappings",
  ];
  const props: Record<string, Check> = {};
  for (const n of names) props[n] = str;
  props.private_key_usage_period_not_before = timestamp;
  props.private_key_usage_period_not_after = timestamp;
  return object({ props, rules: [anyOf(...Object.keys(props))], extra: "any" });
}

const REGISTRY_DATA_TYPES = [
  "REG_NONE",
  "REG_SZ",
  "REG_EXPAND_SZ",
  "REG_BINARY",
  "REG_DWORD",
  "REG_DWORD_BIG_ENDIAN",
  "REG_DWORD_LITTLE_ENDIAN",
  "REG_LINK",
  "REG_MULTI_SZ",
  "REG_RESOURCE_LIST",
  "REG_FULL_RESOURCE_DESCRIPTION",
  "REG_RESOURCE_REQUIREMENTS_LIST",
  "REG_QWORD",
  "REG_INVALID_TYPE",
];

/** §6.17: hive abbreviations are not allowed at the start of a key. */
const ABBREVIATED_HIVE = /^(?:HKLM|HKCC|HKCR|HKCU|HKU|hklm|hkcc|hkcr|hkcu|hku)(?![A-Za-z_])/;

/** RFC 5646 language tag, in the simplified form the OASIS schema gives, or an ISO 639-2 code. */
const LANGUAGE_TAG =
  /^(?:[a-z]{2}(?:-[A-Z]{2})?(?:-[a-z]{4})?(?:-[A-Z]{2}|[0-9]{3})?(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*(?:-[a-z0-9]{1,8})*|[a-z]{3})$/;

/** One CPE 2.3 component: `*`, `-`, or a value with `\`-quoted punctuation and optional `?`/`*` wildcards at its ends. */
const CPE_COMPONENT =
  /^(?:[*-]|[?*]*(?:[a-zA-Z0-9._-]|\\[\\*?!"#$%&'()+,/:;<=>@[\]^`{|}~-])+[?*]*)$/;
const CPE_PART = /^[aho*-]$/;
const CPE_LANGUAGE = /^(?:[*-]|[a-zA-Z]{2,3}(?:-(?:[a-zA-Z]{2}|[0-9]{3}))?)$/;

/** NISTIR 7695 §6.2 formatted string binding: `cpe:2.3:` then part and ten components. */
function isCpe23(s: string): boolean {
  if (!s.startsWith("cpe:2.3:")) return false;
  // Split on colons that are not escaped.
  const parts: string[] = [];
  let from = 8;
  for (let i = 8; i <= s.length; i++) {
    if (i === s.length || (s[i] === ":" && s[i - 1] !== "\\")) {
      parts.push(s.slice(from, i));
      from = i + 1;
    }
  }
  if (parts.length !== 11) return false;
  const [part, ...rest] = parts;
  if (part === undefined || !CPE_PART.test(part)) return false;
  return rest.every((c, i) => (i === 5 ? CPE_LANGUAGE.test(c) : CPE_COMPONENT.test(c)));
}

export const DEFINITIONS: ReadonlyMap<string, TypeDefinition> = new Map<string, TypeDefinition>([
  // §4.1
  [
    "attack-pattern",
    sdo({ name: str, description: str, aliases: strings, kill_chain_phases: phases }, ["name"]),
  ],
  // §4.2
  [
    "campaign",
    sdo(
      {
        name: str,
        description: str,
        aliases: strings,
        first_seen: timestamp,
        last_seen: timestamp,
        objective: str,
      },
      ["name"],
      [lastSeen],
    ),
  ],
  // §4.3
  ["course-of-action", sdo({ name: str, description: str }, ["name"])],
  // §4.4
  [
    "grouping",
    sdo({ name: str, description: str, context: str, object_refs: anyRefs }, [
      "context",
      "object_refs",
    ]),
  ],
  // §4.5
  [
    "identity",
    sdo(
      {
        name: str,
        description: str,
        roles: strings,
        identity_class: str,
        sectors: strings,
        contact_information: str,
      },
      ["name"],
    ),
  ],
  // §4.6
  ["incident", sdo({ name: str, description: str, kill_chain_phases: phases }, ["name"])],
  // §4.7
  [
    "indicator",
    sdo(
      {
        name: str,
        description: str,
        indicator_types: strings,
        pattern: str,
        pattern_type: str,
        pattern_version: str,
        valid_from: timestamp,
        valid_until: timestamp,
        kill_chain_phases: phases,
      },
      ["pattern", "pattern_type", "valid_from"],
      [timeOrder("valid_from", "valid_until", true)],
    ),
  ],
  // §4.8
  [
    "infrastructure",
    sdo(
      {
        name: str,
        description: str,
        infrastructure_types: strings,
        aliases: strings,
        kill_chain_phases: phases,
        first_seen: timestamp,
        last_seen: timestamp,
      },
      ["name"],
      [lastSeen],
    ),
  ],
  // §4.9
  [
    "intrusion-set",
    sdo(
      {
        name: str,
        description: str,
        aliases: strings,
        first_seen: timestamp,
        last_seen: timestamp,
        goals: strings,
        resource_level: str,
        primary_motivation: str,
        secondary_motivations: strings,
      },
      ["name"],
      [lastSeen],
    ),
  ],
  // §4.10: a region, a country or coordinates; latitude and longitude together; precision needs both.
  [
    "location",
    sdo(
      {
        name: str,
        description: str,
        latitude: lat,
        longitude: lon,
        precision: num(),
        region: str,
        country: str,
        administrative_area: str,
        city: str,
        street_address: str,
        postal_code: str,
      },
      [],
      [
        (o, path, cx) => {
          if (
            o.region === undefined &&
            o.country === undefined &&
            (o.latitude === undefined || o.longitude === undefined)
          )
            cx.add(
              path,
              "required-one-of",
              "one of `region`, `country` or `latitude` and `longitude` is required",
            );
        },
        requiredWhen(present("latitude"), "`latitude` is present", "longitude"),
        requiredWhen(present("longitude"), "`longitude` is present", "latitude"),
        requiredWhen(present("precision"), "`precision` is present", "latitude", "longitude"),
      ],
    ),
  ],
  // §4.11: a family has a name.
  [
    "malware",
    sdo(
      {
        name: str,
        description: str,
        malware_types: strings,
        is_family: bool,
        aliases: strings,
        kill_chain_phases: phases,
        first_seen: timestamp,
        last_seen: timestamp,
        operating_system_refs: list(ref({ only: ["software"] })),
        architecture_execution_envs: strings,
        implementation_languages: strings,
        capabilities: strings,
        sample_refs: list(ref({ only: ["file", "artifact"] })),
      },
      ["is_family"],
      [requiredWhen(equals("is_family", true), "`is_family` is true", "name"), lastSeen],
    ),
  ],
  // §4.12
  [
    "malware-analysis",
    sdo(
      {
        product: str,
        version: str,
        host_vm_ref: ref({ only: ["software"] }),
        operating_system_ref: ref({ only: ["software"] }),
        installed_software_refs: list(ref({ only: ["software"] })),
        configuration_version: str,
        modules: strings,
        analysis_engine_version: str,
        analysis_definition_version: str,
        submitted: timestamp,
        analysis_started: timestamp,
        analysis_ended: timestamp,
        result_name: str,
        result: str,
        analysis_sco_refs: anyRefs,
        sample_ref: ref({ only: ["artifact", "file", "network-traffic"] }),
      },
      ["product"],
      [anyOf("result", "analysis_sco_refs")],
    ),
  ],
  // §4.13
  [
    "note",
    sdo({ abstract: str, content: str, authors: strings, object_refs: anyRefs }, [
      "content",
      "object_refs",
    ]),
  ],
  // §4.14
  [
    "observed-data",
    sdo(
      {
        first_observed: timestamp,
        last_observed: timestamp,
        number_observed: int(1, 999_999_999),
        objects: observedObjects,
        object_refs: list(observedRef),
      },
      ["first_observed", "last_observed", "number_observed"],
      [exactlyOne("objects", "object_refs"), timeOrder("first_observed", "last_observed", false)],
    ),
  ],
  // §4.15
  [
    "opinion",
    sdo(
      {
        explanation: str,
        authors: strings,
        opinion: enumOf(["strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"]),
        object_refs: anyRefs,
      },
      ["opinion", "object_refs"],
    ),
  ],
  // §4.16
  [
    "report",
    sdo(
      {
        name: str,
        description: str,
        report_types: strings,
        published: timestamp,
        object_refs: anyRefs,
      },
      ["name", "published", "object_refs"],
    ),
  ],
  // §4.17
  [
    "threat-actor",
    sdo(
      {
        name: str,
        description: str,
        threat_actor_types: strings,
        aliases: strings,
        first_seen: timestamp,
        last_seen: timestamp,
        roles: strings,
        goals: strings,
        sophistication: str,
        resource_level: str,
        primary_motivation: str,
        secondary_motivations: strings,
        personal_motivations: strings,
      },
      ["name"],
      [lastSeen],
    ),
  ],
  // §4.18
  [
    "tool",
    sdo(
      {
        name: str,
        description: str,
        tool_types: strings,
        aliases: strings,
        kill_chain_phases: phases,
        tool_version: str,
      },
      ["name"],
    ),
  ],
  // §4.19
  ["vulnerability", sdo({ name: str, description: str }, ["name"])],

  // ---------------------------------------------------------------- relationship objects (§5)
  // §5.1
  [
    "relationship",
    sdo(
      {
        relationship_type: pattern(
          /^[a-z0-9-]+$/,
          "a relationship type (lowercase letters, digits and `-`)",
        ),
        description: str,
        source_ref: ref({ not: NOT_RELATABLE }),
        target_ref: ref({ not: NOT_RELATABLE }),
        start_time: timestamp,
        stop_time: timestamp,
      },
      ["relationship_type", "source_ref", "target_ref"],
      [timeOrder("start_time", "stop_time", true)],
      "sro",
    ),
  ],
  // §5.2
  [
    "sighting",
    sdo(
      {
        description: str,
        first_seen: timestamp,
        last_seen: timestamp,
        count: int(0, 999_999_999),
        sighting_of_ref: ref({ not: NOT_RELATABLE }),
        observed_data_refs: list(ref({ only: ["observed-data"] })),
        where_sighted_refs: list(ref({ only: ["identity", "location"] })),
        summary: bool,
      },
      ["sighting_of_ref"],
      [lastSeen],
      "sro",
    ),
  ],

  // ---------------------------------------------------------------- cyber-observable objects (§6)
  // §6.1: the payload or a URL with hashes; a decryption key only with an algorithm.
  [
    "artifact",
    sco(
      {
        mime_type: pattern(
          /^(?:application|audio|font|image|message|model|multipart|text|video)\/[a-zA-Z0-9.+_-]+/,
          "an IANA media type",
        ),
        payload_bin: binary,
        url: uri,
        hashes,
        encryption_algorithm: enumOf(["AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"]),
        decryption_key: str,
      },
      [],
      [
        exactlyOne("payload_bin", "url"),
        requiredWhen(present("url"), "`url` is present", "hashes"),
        requiredWhen(
          present("decryption_key"),
          "`decryption_key` is present",
          "encryption_algorithm",
        ),
      ],
    ),
  ],
  // §6.2
  ["autonomous-system", sco({ number: int(), name: str, rir: str }, ["number"])],
  // §6.3
  [
    "directory",
    sco(
      {
        path: str,
        path_enc: pattern(/^[a-zA-Z0-9/.+_:-]{2,250}$/, "a character-set name"),
        ctime: timestamp,
        mtime: timestamp,
        atime: timestamp,
        contains_refs: list(scoRef(["file", "directory"])),
      },
      ["path"],
    ),
  ],
  // §6.4
  [
    "domain-name",
    sco(
      {
        value: format(
          isHostname,
          "format.hostname",
          "a domain name (RFC 1034, IDNA labels allowed)",
        ),
        resolves_to_refs: list(scoRef(["ipv4-addr", "ipv6-addr", "domain-name"])),
      },
      ["value"],
    ),
  ],
  // §6.5
  [
    "email-addr",
    sco(
      {
        value: format(isEmail, "format.email", "an email address (RFC 5322 addr-spec)"),
        display_name: str,
        belongs_to_ref: scoRef(["user-account"]),
      },
      ["value"],
    ),
  ],
  // §6.6: a multipart message has parts and no body; a single-part one the reverse.
  [
    "email-message",
    sco(
      {
        is_multipart: bool,
        date: timestamp,
        content_type: str,
        from_ref: scoRef(["email-addr"]),
        sender_ref: scoRef(["email-addr"]),
        to_refs: list(scoRef(["email-addr"])),
        cc_refs: list(scoRef(["email-addr"])),
        bcc_refs: list(scoRef(["email-addr"])),
        message_id: str,
        subject: str,
        received_lines: strings,
        additional_header_fields: dictionary({
          value: (v, path, cx) => {
            if (typeof v === "string") return;
            if (Array.isArray(v) && v.length >= 2 && v.every((x) => typeof x === "string")) return;
            cx.add(path, "type", "expected a string or a list of two strings or more");
          },
        }),
        body: str,
        body_multipart: list(
          object({
            props: {
              body: str,
              body_raw_ref: scoRef(["artifact", "file"]),
              content_type: str,
              content_disposition: str,
            },
            rules: [exactlyOne("body", "body_raw_ref")],
            extra: "any",
          }),
        ),
        raw_email_ref: scoRef(["artifact"]),
      },
      ["is_multipart"],
      [
        forbiddenWhen(equals("is_multipart", true), "`is_multipart` is true", "body"),
        forbiddenWhen(equals("is_multipart", false), "`is_multipart` is false", "body_multipart"),
      ],
    ),
  ],
  // §6.7
  [
    "file",
    sco(
      {
        hashes,
        size: int(0),
        name: str,
        name_enc: pattern(/^[a-zA-Z0-9/.+_:-]{2,250}$/, "a character-set name"),
        magic_number_hex: hex,
        mime_type: str,
        ctime: timestamp,
        mtime: timestamp,
        atime: timestamp,
        parent_directory_ref: scoRef(["directory"]),
        contains_refs: list(scoRef(SCO_TYPES)),
        content_ref: scoRef(["artifact"]),
      },
      [],
      [anyOf("hashes", "name")],
      fileExtensions(),
    ),
  ],
  // §6.8
  [
    "ipv4-addr",
    sco(
      {
        value: format(isIpv4Cidr, "format.ipv4", "an IPv4 address or CIDR block"),
        resolves_to_refs: list(scoRef(["mac-addr"])),
        belongs_to_refs: list(scoRef(["autonomous-system"])),
      },
      ["value"],
    ),
  ],
  // §6.9
  [
    "ipv6-addr",
    sco(
      {
        value: format(isIpv6Cidr, "format.ipv6", "an IPv6 address or CIDR block"),
        resolves_to_refs: list(scoRef(["mac-addr"])),
        belongs_to_refs: list(scoRef(["autonomous-system"])),
      },
      ["value"],
    ),
  ],
  // §6.10
  [
    "mac-addr",
    sco(
      {
        value: format(isMac, "format.mac", "a MAC address (six lowercase hex pairs joined by `:`)"),
      },
      ["value"],
    ),
  ],
  // §6.11
  ["mutex", sco({ name: str }, ["name"])],
  // §6.12: an active flow has no end yet.
  [
    "network-traffic",
    sco(
      {
        start: timestamp,
        end: timestamp,
        is_active: bool,
        src_ref: scoRef(["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"]),
        dst_ref: scoRef(["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"]),
        src_port: int(0, 65535),
        dst_port: int(0, 65535),
        protocols: strings,
        src_byte_count: int(),
        dst_byte_count: int(),
        src_packets: int(),
        dst_packets: int(),
        ipfix: dictionary({ value: stringOrInteger }),
        src_payload_ref: scoRef(["artifact"]),
        dst_payload_ref: scoRef(["artifact"]),
        encapsulates_refs: list(scoRef(["network-traffic"])),
        encapsulated_by_ref: scoRef(["network-traffic"]),
      },
      ["protocols"],
      [
        anyOf("src_ref", "dst_ref"),
        forbiddenWhen(equals("is_active", true), "`is_active` is true", "end"),
        timeOrder("start", "end", false),
      ],
      networkTrafficExtensions(),
    ),
  ],
  // §6.13
  [
    "process",
    sco(
      {
        is_hidden: bool,
        pid: int(),
        created_time: timestamp,
        cwd: str,
        command_line: str,
        environment_variables: dictionary(),
        opened_connection_refs: list(scoRef(["network-traffic"])),
        creator_user_ref: scoRef(["user-account"]),
        image_ref: scoRef(["file"]),
        parent_ref: scoRef(["process"]),
        child_refs: list(scoRef(["process"])),
      },
      [],
      [
        // The OASIS schema's list, `name`, `created` and `arguments` (STIX 2.0 properties) included.
        anyOf(
          "extensions",
          "is_hidden",
          "pid",
          "name",
          "created",
          "cwd",
          "arguments",
          "command_line",
          "environment_variables",
          "opened_connection_refs",
          "creator_user_ref",
          "image_ref",
          "parent_ref",
          "child_refs",
        ),
      ],
      processExtensions(),
    ),
  ],
  // §6.14
  [
    "software",
    sco(
      {
        name: str,
        cpe: format(isCpe23, "format.pattern", "a CPE 2.3 formatted string"),
        swid: str,
        languages: list(pattern(LANGUAGE_TAG, "an ISO 639-2 language code or RFC 5646 tag")),
        vendor: str,
        version: str,
      },
      ["name"],
    ),
  ],
  // §6.15
  ["url", sco({ value: uri }, ["value"])],
  // §6.16
  [
    "user-account",
    sco(
      {
        user_id: str,
        credential: str,
        account_login: str,
        account_type: str,
        display_name: str,
        is_service_account: bool,
        is_privileged: bool,
        can_escalate_privs: bool,
        is_disabled: bool,
        account_created: timestamp,
        account_expires: timestamp,
        credential_last_changed: timestamp,
        account_first_login: timestamp,
        account_last_login: timestamp,
      },
      [],
      [
        anyOf(
          "extensions",
          "user_id",
          "credential",
          "account_login",
          "account_type",
          "display_name",
          "is_service_account",
          "is_privileged",
          "can_escalate_privs",
          "is_disabled",
          "account_created",
          "account_expires",
          "credential_last_changed",
          "account_first_login",
          "account_last_login",
        ),
      ],
      {
        "unix-account-ext": extensionShape(
          { gid: num(), groups: strings, home_dir: str, shell: str },
          [],
          [anyOf("gid", "groups", "home_dir", "shell")],
        ),
      },
    ),
  ],
  // §6.17
  [
    "windows-registry-key",
    sco(
      {
        key: format(
          (s) => !ABBREVIATED_HIVE.test(s),
          "format.pattern",
          "a registry key with a full hive name (`HKEY_LOCAL_MACHINE`, not `HKLM`)",
        ),
        values: list(
          object({
            props: { name: str, data: str, data_type: enumOf(REGISTRY_DATA_TYPES) },
            rules: [anyOf("name", "data", "data_type")],
            extra: "any",
          }),
        ),
        modified_time: timestamp,
        creator_user_ref: scoRef(["user-account"]),
        number_of_subkeys: int(),
      },
      [],
      // The OASIS schema's list, which names `modified` (STIX 2.0) rather than `modified_time`.
      [anyOf("key", "values", "modified", "creator_user_ref", "number_of_subkeys")],
    ),
  ],
  // §6.18
  [
    "x509-certificate",
    sco(
      {
        is_self_signed: bool,
        hashes,
        version: str,
        serial_number: str,
        signature_algorithm: str,
        issuer: str,
        validity_not_before: timestamp,
        validity_not_after: timestamp,
        subject: str,
        subject_public_key_algorithm: str,
        subject_public_key_modulus: str,
        subject_public_key_exponent: int(),
        x509_v3_extensions: x509Extensions(),
      },
      [],
      [
        anyOf(
          "is_self_signed",
          "hashes",
          "version",
          "serial_number",
          "signature_algorithm",
          "issuer",
          "validity_not_before",
          "validity_not_after",
          "subject",
          "subject_public_key_algorithm",
          "subject_public_key_modulus",
          "subject_public_key_exponent",
          "x509_v3_extensions",
        ),
      ],
    ),
  ],

  // ---------------------------------------------------------------- meta objects (§7)
  // §7.1
  [
    "language-content",
    sdo(
      {
        object_ref: ref({ not: ["bundle", "language-content"] }),
        object_modified: timestamp,
        contents: dictionary(),
      },
      ["object_ref", "contents"],
      [],
      "meta",
    ),
  ],
  // §7.3: `extension_properties` belongs to top-level property extensions.
  [
    "extension-definition",
    sdo(
      {
        name: str,
        description: str,
        schema: str,
        version: str,
        extension_types: list(enumOf(EXTENSION_TYPES)),
        extension_properties: strings,
      },
      ["name", "schema", "version", "extension_types"],
      [
        forbiddenWhen(
          (o) =>
            !(
              Array.isArray(o.extension_types) &&
              o.extension_types.includes("toplevel-property-extension")
            ),
          "`extension_types` does not include `toplevel-property-extension`",
          "extension_properties",
        ),
      ],
      "meta",
    ),
  ],
]);

// ---------------------------------------------------------------- observed-data.objects (§4.14, deprecated)

/** An SCO embedded in observed-data: the SCO rules, with references read as local keys. */
function embeddedObservable(v: unknown, path: string, cx: Collector): void {
  if (!isRecord(v)) {
    cx.add(path, "type", `expected an object, found ${v === null ? "null" : typeof v}`);
    return;
  }
  const type = v.type;
  if (typeof type !== "string") {
    cx.add(
      `${path}.type`,
      type === undefined ? "required" : "type",
      "`type` is required and must be a string",
    );
    return;
  }
  const def = DEFINITIONS.get(type);
  if (def !== undefined && def.class !== "sco") {
    cx.add(
      `${path}.type`,
      "enum",
      `\`${type}\` is not a cyber-observable type, and only those may be embedded`,
    );
    return;
  }
  checkShape(v, (def ?? CUSTOM_SCO).shape, path, cx);
}

/** §7.2.1 marking definition; TLP objects are checked in ./validate.ts. */
export const MARKING_DEFINITION: ShapeDefinition = {
  props: {
    type: checkedElsewhere,
    id: checkedElsewhere,
    spec_version: specVersion,
    created_by_ref: ref({ only: ["identity"] }),
    created: timestamp,
    name: str,
    external_references: list(externalReference),
    object_marking_refs: list(markingRef),
    granular_markings: list(granularMarking),
    extensions: extensions({}, true),
    definition_type: str,
    definition: object({ props: {}, extra: "any" }),
  },
  required: ["type", "spec_version", "id", "created"],
  rules: [
    requiredWhen(
      (o) => o.extensions === undefined,
      "there are no `extensions`",
      "definition_type",
      "definition",
    ),
    (o, path, cx) => {
      if (o.definition_type !== "statement" || !isRecord(o.definition)) return;
      const statement = o.definition.statement;
      if (typeof statement !== "string")
        cx.add(
          `${path}.definition.statement`,
          statement === undefined ? "required" : "type",
          "a statement marking needs `definition.statement`, a string",
        );
    },
  ],
  extra: "custom",
};
