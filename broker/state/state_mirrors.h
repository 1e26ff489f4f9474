// How the state topics are read back into the books: one decoder per
// compacted topic, for the node's TopicMirror (topic_mirror.h).
//
//   liaison.registry.ids      AcceptedId       -> AcceptedIds
//   liaison.registry.acks     AckedItem        -> AckedItems
//   liaison.registry.sources  RecordedSource   -> SourceBook (with its expiry)
//   liaison.registry.consents RecordedConsent  -> ConsentBook, only when the
//                             grantor's signed envelope verifies; tombstones
//                             are ignored
//   liaison.linkage.index     linkage records  -> LinkageBook (tombstones
//                             withdraw; what the index refuses is skipped)
//
// Only the broker writes these topics, so a record that does not parse is a
// bug or tampering: it is skipped, logged (`state.unreadable_record`, with
// topic, partition and offset: metadata only) and counted
// (Observer::OnStateRecordSkipped). A consent that does not verify (or
// parse) is refused as before (`state.forged_consent`,
// ConsentBook::refused()).
#ifndef LIAISON_BROKER_STATE_STATE_MIRRORS_H_
#define LIAISON_BROKER_STATE_STATE_MIRRORS_H_

#include <string>
#include <utility>
#include <vector>

#include "broker/core/clock.h"
#include "broker/core/observer.h"
#include "broker/core/topics.h"
#include "broker/state/accepted_ids.h"
#include "broker/state/acked_items.h"
#include "broker/state/linkage_book.h"
#include "broker/state/state_indexes.h"
#include "broker/state/topic_mirror.h"
#include "certs/signature.h"

namespace liaison::broker {

// Where the decoders put what they read. None owned; all must outlive the
// mirror. `observer` may be null.
struct StateBooks {
  AcceptedIds* accepted = nullptr;
  AckedItems* acked = nullptr;
  SourceBook* sources = nullptr;
  ConsentBook* consents = nullptr;
  // Checks each stored consent's grantor signature.
  const certs::Verifier* verifier = nullptr;
  Observer* observer = nullptr;
  // The case-linkage index and the clock its expiries are judged by (both
  // null: the topic is not followed).
  LinkageBook* linkage = nullptr;
  const Clock* clock = nullptr;
};

// The (topic, decoder) pairs of the state topics, for one TopicMirror.
// The decoders run on the mirror's thread.
std::vector<std::pair<std::string, TopicMirror::Apply>> StateMirrorTopics(const Topics& topics,
                                                                          StateBooks books);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STATE_STATE_MIRRORS_H_
