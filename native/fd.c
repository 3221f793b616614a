/*
 * nvmet_fd: duplicate a file descriptor with FD_CLOEXEC set.
 *
 * Node 20 cannot transfer a socket handle to a worker thread. The main thread
 * instead dups an accepted socket's fd, the worker wraps the dup with
 * `new net.Socket({ fd })`, and the main thread destroys its own socket, which
 * closes only its fd: the connection lives on through the dup.
 *
 * Exports exactly one function: dupCloexec(fd: number): number.
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The errno's symbolic name ("EBADF") for the JS error's `code`. */
static const char *errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char *name = strerrorname_np(err);
  if (name != NULL) return name;
#endif
  switch (err) {
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    default: return "UNKNOWN";
  }
}

/* On a failed N-API call, throw (unless something is already pending) and return NULL. */
#define NAPI_CALL(env, call)                                                  \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      bool pending = false;                                                   \
      napi_is_exception_pending((env), &pending);                             \
      if (!pending) napi_throw_error((env), NULL, "nvmet_fd: N-API call failed: " #call); \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

static napi_value dup_cloexec(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));

  napi_valuetype type = napi_undefined;
  if (argc >= 1) NAPI_CALL(env, napi_typeof(env, argv[0], &type));
  if (type != napi_number) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "dupCloexec: fd must be a non-negative int32 number");
    return NULL;
  }
  double d = 0;
  NAPI_CALL(env, napi_get_value_double(env, argv[0], &d));
  if (!isfinite(d) || d != floor(d) || d < 0 || d > (double)INT32_MAX) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "dupCloexec: fd must be a non-negative int32 number");
    return NULL;
  }
  int fd = (int)d;

  /* Lowest free fd >= 3, close-on-exec set atomically (no fork/exec race). */
  int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) {
    int err = errno;
    char msg[256];
    snprintf(msg, sizeof msg, "dupCloexec(%d): %s: %s", fd, errno_name(err), strerror(err));
    napi_throw_error(env, errno_name(err), msg);
    return NULL;
  }

  napi_value result;
  NAPI_CALL(env, napi_create_int32(env, dup, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  NAPI_CALL(env, napi_create_function(env, "dupCloexec", NAPI_AUTO_LENGTH, dup_cloexec, NULL, &fn));
  NAPI_CALL(env, napi_set_named_property(env, exports, "dupCloexec", fn));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
