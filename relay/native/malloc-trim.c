/*
 * malloc_trim(3) for the relay (src/memory/malloc-trim.ts loads this; docs/benchmarks.md).
 *
 * glibc keeps memory that has been freed inside its heap: free() only gives back the top of the
 * heap, and V8's compiler zones and the relay's socket buffers leave free chunks in the middle of
 * it. malloc_trim(0) hands every whole free page back to the kernel (madvise), which nothing in
 * Node can do. Built on glibc only; elsewhere `supported` is false and `trim` does nothing.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* trim(): true if memory was given back to the kernel. */
static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#ifdef __GLIBC__
  released = malloc_trim(0);
#endif
  napi_value result;
  napi_get_boolean(env, released == 1, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value trim, supported;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &trim) != napi_ok) return NULL;
#ifdef __GLIBC__
  napi_get_boolean(env, 1, &supported);
#else
  napi_get_boolean(env, 0, &supported);
#endif
  napi_set_named_property(env, exports, "trim", trim);
  napi_set_named_property(env, exports, "supported", supported);
  return exports;
}
