/*
 * Accord's native ristretto255 backend: batch forms of libsodium's ristretto255 functions for
 * Node, through N-API (src/crypto/oprf/native.ts loads it; spec/match.md §performance).
 *
 * Every group operation is a call into the system's libsodium (Debian's libsodium-dev), the same
 * C code libsodium.js compiles to WebAssembly: crypto_scalarmult_ristretto255 is constant time in
 * the scalar, so outputs are byte-identical to the wasm backend (test/match/backend.test.ts)
 * and no secret reaches a branch here. This file only moves bytes between JavaScript's
 * Uint8Arrays and libsodium, a batch per call, to save the per-element crossing cost.
 *
 * Encodings: RFC 9496 §4.3.1 requires refusing an encoding with the top bit of its last byte set.
 * libsodium before 1.0.19 ignores that bit when decoding (Debian 12 ships 1.0.18), so it is
 * checked here first, on every element that comes from outside; the wasm build (newer) refuses
 * such encodings itself, and the tests compare the two on random corruptions.
 *
 * Conventions: elements and scalars are 32 bytes, uniform strings 64, lists packed back to back.
 * A function that can fail on one element returns the index of the first failure (a number)
 * instead of the packed result; bad argument shapes throw TypeError.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#define EL 32
#define WIDE 64

typedef struct {
  uint8_t *data;
  size_t length;
} bytes_t;

static int get_bytes(napi_env env, napi_value value, bytes_t *out) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  void *data = NULL;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, &out->length, &data, &buffer, &offset) !=
          napi_ok ||
      type != napi_uint8_array) {
    return 0;
  }
  out->data = data;
  return 1;
}

/* Reads `count` Uint8Array arguments; the i-th must be a multiple of unit[i] bytes (0: any). */
static int get_args(napi_env env, napi_callback_info info, size_t count, bytes_t *out,
                    const size_t *unit, size_t *given) {
  napi_value argv[3];
  size_t argc = 3;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  *given = argc;
  for (size_t i = 0; i < count && i < argc; i++) {
    if (!get_bytes(env, argv[i], &out[i]) || (unit[i] != 0 && out[i].length % unit[i] != 0)) {
      napi_throw_type_error(env, NULL, "expected packed Uint8Array arguments of the right size");
      return 0;
    }
  }
  if (argc < count) {
    napi_throw_type_error(env, NULL, "missing argument");
    return 0;
  }
  return 1;
}

static napi_value new_bytes(napi_env env, size_t length, uint8_t **data) {
  napi_value array_buffer, out;
  void *raw = NULL;
  if (napi_create_arraybuffer(env, length, &raw, &array_buffer) != napi_ok) return NULL;
  if (napi_create_typedarray(env, napi_uint8_array, length, array_buffer, 0, &out) != napi_ok)
    return NULL;
  *data = raw;
  return out;
}

static napi_value number(napi_env env, double n) {
  napi_value out;
  napi_create_double(env, n, &out);
  return out;
}

/* Bit 255 of an encoding: set only in non-canonical encodings (RFC 9496 §4.3.1). */
static int high_bit(const uint8_t *p) { return (p[EL - 1] & 0x80) != 0; }

/* k * P for an element from outside: 0 on success, -1 on an invalid encoding or the identity. */
static int mult_checked(uint8_t *q, const uint8_t *k, const uint8_t *p) {
  if (high_bit(p)) return -1;
  return crypto_scalarmult_ristretto255(q, k, p);
}

static int check_scalar(napi_env env, const bytes_t *k) {
  if (k->length != EL) {
    napi_throw_type_error(env, NULL, "a scalar is 32 bytes");
    return 0;
  }
  return 1;
}

/* multMany(k, points): k * P_i for each packed element, or the index of the first failure
 * (an invalid encoding or an identity product). */
static napi_value mult_many(napi_env env, napi_callback_info info) {
  bytes_t a[2];
  size_t unit[2] = {EL, EL}, argc;
  if (!get_args(env, info, 2, a, unit, &argc) || !check_scalar(env, &a[0])) return NULL;
  size_t n = a[1].length / EL;
  uint8_t *out;
  napi_value result = new_bytes(env, a[1].length, &out);
  if (result == NULL) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (mult_checked(out + i * EL, a[0].data, a[1].data + i * EL) != 0) {
      return number(env, (double)i);
    }
  }
  return result;
}

/* multBase(k): k * G, or null when k is zero. */
static napi_value mult_base(napi_env env, napi_callback_info info) {
  bytes_t a[1];
  size_t unit[1] = {EL}, argc;
  if (!get_args(env, info, 1, a, unit, &argc) || !check_scalar(env, &a[0])) return NULL;
  uint8_t *out;
  napi_value result = new_bytes(env, EL, &out);
  if (result == NULL) return NULL;
  if (crypto_scalarmult_ristretto255_base(out, a[0].data) != 0) {
    napi_value null_value;
    napi_get_null(env, &null_value);
    return null_value;
  }
  return result;
}

/* fromHashMany(uniform[, k]): hash_to_ristretto255's map of each 64-byte string, times k when
 * given; or the index of the first identity product. */
static napi_value from_hash_many(napi_env env, napi_callback_info info) {
  bytes_t a[2] = {{0}};
  size_t unit[2] = {WIDE, EL}, argc;
  if (!get_args(env, info, 1, a, unit, &argc)) return NULL;
  if (argc >= 2) {
    napi_value argv[2];
    size_t two = 2;
    napi_valuetype type;
    napi_get_cb_info(env, info, &two, argv, NULL, NULL);
    napi_typeof(env, argv[1], &type);
    if (type != napi_undefined &&
        (!get_bytes(env, argv[1], &a[1]) || !check_scalar(env, &a[1]))) {
      if (type != napi_undefined) napi_throw_type_error(env, NULL, "a scalar is 32 bytes");
      return NULL;
    }
  }
  size_t n = a[0].length / WIDE;
  uint8_t *out;
  napi_value result = new_bytes(env, n * EL, &out);
  if (result == NULL) return NULL;
  uint8_t point[EL];
  for (size_t i = 0; i < n; i++) {
    if (a[1].data == NULL) {
      crypto_core_ristretto255_from_hash(out + i * EL, a[0].data + i * WIDE);
      continue;
    }
    crypto_core_ristretto255_from_hash(point, a[0].data + i * WIDE);
    if (crypto_scalarmult_ristretto255(out + i * EL, a[1].data, point) != 0) {
      return number(env, (double)i);
    }
  }
  return result;
}

/* firstInvalid(points): the index of the first element that is not a canonical encoding of a
 * point other than the identity, or -1. */
static napi_value first_invalid(napi_env env, napi_callback_info info) {
  bytes_t a[1];
  size_t unit[1] = {EL}, argc;
  if (!get_args(env, info, 1, a, unit, &argc)) return NULL;
  size_t n = a[0].length / EL;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = a[0].data + i * EL;
    if (high_bit(p) || sodium_is_zero(p, EL) || crypto_core_ristretto255_is_valid_point(p) != 1) {
      return number(env, (double)i);
    }
  }
  return number(env, -1);
}

/* scalarReduceMany(wide): each 64-byte little-endian string reduced modulo the group order. */
static napi_value scalar_reduce_many(napi_env env, napi_callback_info info) {
  bytes_t a[1];
  size_t unit[1] = {WIDE}, argc;
  if (!get_args(env, info, 1, a, unit, &argc)) return NULL;
  size_t n = a[0].length / WIDE;
  uint8_t *out;
  napi_value result = new_bytes(env, n * EL, &out);
  if (result == NULL) return NULL;
  for (size_t i = 0; i < n; i++) {
    crypto_core_ristretto255_scalar_reduce(out + i * EL, a[0].data + i * WIDE);
  }
  return result;
}

/* linearCombination(scalars, points): sum s_i * P_i; or the index of the first term that fails
 * (n when a partial sum is not a valid element). */
static napi_value linear_combination(napi_env env, napi_callback_info info) {
  bytes_t a[2];
  size_t unit[2] = {EL, EL}, argc;
  if (!get_args(env, info, 2, a, unit, &argc)) return NULL;
  size_t n = a[1].length / EL;
  if (n == 0 || a[0].length != a[1].length) {
    napi_throw_type_error(env, NULL, "a linear combination needs one scalar per element");
    return NULL;
  }
  uint8_t *sum;
  napi_value result = new_bytes(env, EL, &sum);
  if (result == NULL) return NULL;
  uint8_t term[EL];
  for (size_t i = 0; i < n; i++) {
    uint8_t *target = i == 0 ? sum : term;
    if (mult_checked(target, a[0].data + i * EL, a[1].data + i * EL) != 0) {
      return number(env, (double)i);
    }
    if (i > 0 && crypto_core_ristretto255_add(sum, sum, term) != 0) return number(env, (double)n);
  }
  return result;
}

NAPI_MODULE_INIT() {
  if (sodium_init() < 0) {
    napi_throw_error(env, NULL, "libsodium could not initialise");
    return NULL;
  }
  const napi_property_descriptor functions[] = {
      {"multMany", NULL, mult_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"multBase", NULL, mult_base, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fromHashMany", NULL, from_hash_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"firstInvalid", NULL, first_invalid, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scalarReduceMany", NULL, scalar_reduce_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"linearCombination", NULL, linear_combination, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
  napi_value version;
  napi_create_string_utf8(env, sodium_version_string(), NAPI_AUTO_LENGTH, &version);
  napi_set_named_property(env, exports, "sodiumVersion", version);
  return exports;
}
