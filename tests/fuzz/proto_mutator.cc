#include "tests/fuzz/proto_mutator.h"

#include <cstring>
#include <memory>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace liaison::fuzz {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

struct Site {
  Message* message;
  const FieldDescriptor* field;
};

// Every field of every message present in `m` (set or not), depth-limited.
void Sites(Message& m, std::vector<Site>& out, int depth) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    out.push_back({&m, f});
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || depth > 12) continue;
    if (f->is_repeated()) {
      for (int j = 0; j < r->FieldSize(m, f); ++j) {
        Sites(*r->MutableRepeatedMessage(&m, f, j), out, depth + 1);
      }
    } else if (r->HasField(m, f)) {
      Sites(*r->MutableMessage(&m, f), out, depth + 1);
    }
  }
}

std::string PickString(const std::vector<std::string>& pool, std::minstd_rand& rng) {
  if (pool.empty() || rng() % 8 == 0) {
    // Printable ASCII noise (string fields must stay valid UTF-8).
    std::string s(rng() % 12, ' ');
    for (char& c : s) c = static_cast<char>(0x20 + rng() % 0x5f);
    return s;
  }
  return pool[rng() % pool.size()];
}

int64_t PickNumber(std::minstd_rand& rng) {
  static const int64_t kInteresting[] = {0,
                                         1,
                                         -1,
                                         2,
                                         3,
                                         4,
                                         10,
                                         64,
                                         100,
                                         1000,
                                         1 << 20,
                                         2147483647,
                                         -2147483647 - 1,
                                         1777885200 /* T0, 2026-05-04T09:00Z */,
                                         253402300799 /* year 9999 */};
  if (rng() % 2) return kInteresting[rng() % (sizeof(kInteresting) / sizeof(kInteresting[0]))];
  return static_cast<int64_t>(rng()) - (1 << 30);
}

// Sets one value (a new element when `add`) of field `f` in `m`.
void SetValue(Message& m, const FieldDescriptor* f, bool add, const std::vector<std::string>& pool,
              std::minstd_rand& rng) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  const int n = rep ? r->FieldSize(m, f) : 0;
  const int idx = (rep && n > 0) ? static_cast<int>(rng() % n) : 0;
  const bool append = rep && (add || n == 0);
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string v = PickString(pool, rng);
      if (append)
        r->AddString(&m, f, v);
      else if (rep)
        r->SetRepeatedString(&m, f, idx, v);
      else
        r->SetString(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = f->enum_type();
      // Mostly a defined value; sometimes an unknown number.
      const int v = rng() % 8 ? e->value(static_cast<int>(rng() % e->value_count()))->number()
                              : static_cast<int>(PickNumber(rng) % 100);
      if (append)
        r->AddEnumValue(&m, f, v);
      else if (rep)
        r->SetRepeatedEnumValue(&m, f, idx, v);
      else
        r->SetEnumValue(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      const bool v = rng() % 2;
      if (append)
        r->AddBool(&m, f, v);
      else if (rep)
        r->SetRepeatedBool(&m, f, idx, v);
      else
        r->SetBool(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      const auto v = static_cast<int32_t>(PickNumber(rng));
      if (append)
        r->AddInt32(&m, f, v);
      else if (rep)
        r->SetRepeatedInt32(&m, f, idx, v);
      else
        r->SetInt32(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      const int64_t v = PickNumber(rng);
      if (append)
        r->AddInt64(&m, f, v);
      else if (rep)
        r->SetRepeatedInt64(&m, f, idx, v);
      else
        r->SetInt64(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      const auto v = static_cast<uint32_t>(PickNumber(rng));
      if (append)
        r->AddUInt32(&m, f, v);
      else if (rep)
        r->SetRepeatedUInt32(&m, f, idx, v);
      else
        r->SetUInt32(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      const auto v = static_cast<uint64_t>(PickNumber(rng));
      if (append)
        r->AddUInt64(&m, f, v);
      else if (rep)
        r->SetRepeatedUInt64(&m, f, idx, v);
      else
        r->SetUInt64(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const double v = static_cast<double>(PickNumber(rng)) / 7.0;
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        if (append)
          r->AddDouble(&m, f, v);
        else if (rep)
          r->SetRepeatedDouble(&m, f, idx, v);
        else
          r->SetDouble(&m, f, v);
      } else {
        if (append)
          r->AddFloat(&m, f, static_cast<float>(v));
        else if (rep)
          r->SetRepeatedFloat(&m, f, idx, static_cast<float>(v));
        else
          r->SetFloat(&m, f, static_cast<float>(v));
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      if (append && n > 0 && rng() % 2) {
        // Duplicate an existing element (two persons with one entity id...).
        r->AddMessage(&m, f)->CopyFrom(r->GetRepeatedMessage(m, f, idx));
      } else if (append) {
        r->AddMessage(&m, f);
      } else if (!rep) {
        r->MutableMessage(&m, f);  // present, possibly empty
      }
      break;
    }
  }
}

}  // namespace

void CollectStrings(const Message& source, std::vector<std::string>& pool) {
  const Descriptor* d = source.GetDescriptor();
  const Reflection* r = source.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
        f->type() == FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int j = 0; j < r->FieldSize(source, f); ++j) {
          pool.push_back(r->GetRepeatedString(source, f, j));
        }
      } else if (r->HasField(source, f) || !r->GetString(source, f).empty()) {
        pool.push_back(r->GetString(source, f));
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int j = 0; j < r->FieldSize(source, f); ++j) {
          CollectStrings(r->GetRepeatedMessage(source, f, j), pool);
        }
      } else if (r->HasField(source, f)) {
        CollectStrings(r->GetMessage(source, f), pool);
      }
    }
  }
}

void MutateOnce(Message& message, const std::vector<std::string>& pool, std::minstd_rand& rng) {
  std::vector<Site> sites;
  Sites(message, sites, 0);
  if (sites.empty()) return;
  const Site s = sites[rng() % sites.size()];
  const Reflection* r = s.message->GetReflection();
  const bool rep = s.field->is_repeated();
  const int n = rep ? r->FieldSize(*s.message, s.field) : 0;
  switch (rng() % 6) {
    case 0:  // clear
      r->ClearField(s.message, s.field);
      break;
    case 1:  // drop one repeated element (the last, after a swap)
      if (rep && n > 0) {
        r->SwapElements(s.message, s.field, static_cast<int>(rng() % n), n - 1);
        r->RemoveLast(s.message, s.field);
        break;
      }
      [[fallthrough]];
    case 2:  // add an element
      SetValue(*s.message, s.field, /*add=*/true, pool, rng);
      break;
    default:  // change a value
      SetValue(*s.message, s.field, /*add=*/false, pool, rng);
      break;
  }
}

size_t MutateProto(const Message& prototype, const std::vector<std::string>& pool, uint8_t* data,
                   size_t size, size_t max_size, unsigned int seed) {
  std::minstd_rand rng(seed);
  std::unique_ptr<Message> m(prototype.New());
  if (rng() % 8 == 0 || !m->ParseFromArray(data, static_cast<int>(size))) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  // The pool plus this input's own values (ids that link entities).
  std::vector<std::string> local = pool;
  CollectStrings(*m, local);
  const int rounds = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < rounds; ++i) MutateOnce(*m, local, rng);
  std::string out;
  if (!m->SerializeToString(&out) || out.size() > max_size) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

}  // namespace liaison::fuzz
