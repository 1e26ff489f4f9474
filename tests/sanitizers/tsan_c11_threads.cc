// ThreadSanitizer build only (LIAISON_SANITIZE=thread): C11 <threads.h> on
// top of the pthread functions TSan intercepts.
//
// Debian's librdkafka creates its threads and locks its mutexes through
// glibc's C11 threads (thrd_create, mtx_lock, cnd_wait). glibc implements
// them by calling its internal pthread functions directly, so clang 14's
// TSan runtime, which intercepts only the public pthread symbols, never sees
// those threads start (their first malloc crashes inside TSan's allocator:
// "SEGV ... in __sanitizer::CombinedAllocator::Allocate" on thread
// "rdk:mock") nor their locks (so it would report races inside librdkafka
// that its mutexes prevent). Defining the C11 functions in the test
// executable makes librdkafka bind to these, which call the intercepted
// pthread functions. glibc's mtx_t and cnd_t have the size and layout of
// pthread_mutex_t and pthread_cond_t (glibc implements one with the other).
// Nothing here is linked outside the TSan build.
//
// scripts/sanitize.sh preloads this library (built without TSan) into the
// tests, so child processes get it too; there the weak Annotate* symbols
// below are null and nothing changes. Under TSan, initialising and
// destroying one of librdkafka's mutexes or condition variables is not
// recorded as a write to it (locks, unlocks, waits and signals still give
// TSan every edge): librdkafka publishes a new object, and frees an old one,
// through reference counts and rwlocks in its own uninstrumented code
// (tests/sanitizers/tsan.supp ignores librdkafka's own calls), so a lock on
// another thread would otherwise look unordered with the init ("Atomic read
// by pthread_mutex_lock vs previous write by pthread_mutex_init", 4 reports
// in integration_test).
#include <errno.h>
#include <pthread.h>
#include <threads.h>

#include <cstdint>
#include <cstdlib>

static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t));
static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t));
static_assert(sizeof(thrd_t) == sizeof(pthread_t));

// TSan's dynamic annotations (exported by every TSan executable).
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line) __attribute__((weak));
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line) __attribute__((weak));

namespace {

// Writes made while this lives are not recorded (under TSan only).
class IgnoreAccesses {
 public:
  IgnoreAccesses() {
    if (AnnotateIgnoreWritesBegin != nullptr) AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
  }
  ~IgnoreAccesses() {
    if (AnnotateIgnoreWritesEnd != nullptr) AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
  }
  IgnoreAccesses(const IgnoreAccesses&) = delete;
  IgnoreAccesses& operator=(const IgnoreAccesses&) = delete;
};

int FromPthread(int rc) {
  switch (rc) {
    case 0:
      return thrd_success;
    case ENOMEM:
      return thrd_nomem;
    case ETIMEDOUT:
      return thrd_timedout;
    case EBUSY:
      return thrd_busy;
    default:
      return thrd_error;
  }
}

struct Start {
  thrd_start_t func;
  void* arg;
};

void* Trampoline(void* p) {
  Start start = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(start.func(start.arg)));
}

pthread_mutex_t* M(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* C(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* start = new Start{func, arg};
  pthread_t t;
  const int rc = pthread_create(&t, nullptr, Trampoline, start);
  if (rc != 0) {
    delete start;
    return FromPthread(rc);
  }
  *thr = t;
  return thrd_success;
}

int thrd_join(thrd_t thr, int* res) {
  void* out = nullptr;
  const int rc = pthread_join(thr, &out);
  if (rc == 0 && res != nullptr) *res = static_cast<int>(reinterpret_cast<intptr_t>(out));
  return FromPthread(rc);
}

int thrd_detach(thrd_t thr) { return FromPthread(pthread_detach(thr)); }

int mtx_init(mtx_t* m, int type) {
  IgnoreAccesses ignore;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int rc = pthread_mutex_init(M(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return FromPthread(rc);
}
int mtx_lock(mtx_t* m) { return FromPthread(pthread_mutex_lock(M(m))); }
int mtx_trylock(mtx_t* m) { return FromPthread(pthread_mutex_trylock(M(m))); }
int mtx_timedlock(mtx_t* m, const struct timespec* ts) {
  return FromPthread(pthread_mutex_timedlock(M(m), ts));
}
int mtx_unlock(mtx_t* m) { return FromPthread(pthread_mutex_unlock(M(m))); }
void mtx_destroy(mtx_t* m) {
  IgnoreAccesses ignore;
  pthread_mutex_destroy(M(m));
}

int cnd_init(cnd_t* c) {
  IgnoreAccesses ignore;
  return FromPthread(pthread_cond_init(C(c), nullptr));
}
int cnd_signal(cnd_t* c) { return FromPthread(pthread_cond_signal(C(c))); }
int cnd_broadcast(cnd_t* c) { return FromPthread(pthread_cond_broadcast(C(c))); }
int cnd_wait(cnd_t* c, mtx_t* m) { return FromPthread(pthread_cond_wait(C(c), M(m))); }
int cnd_timedwait(cnd_t* c, mtx_t* m, const struct timespec* ts) {
  return FromPthread(pthread_cond_timedwait(C(c), M(m), ts));
}
void cnd_destroy(cnd_t* c) {
  IgnoreAccesses ignore;
  pthread_cond_destroy(C(c));
}

}  // extern "C"
