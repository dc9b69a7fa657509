// Package store holds the durable state of a crawl and turns downloaded bytes
// into files.
//
// [Backend] is the contract every stage process relies on: the task
// queues with their leases, the seen set, failures, file records and meta.
// Its methods say what each one guarantees, after a kill -9, on a lease
// that ran out, on an ack after a restart. Two backends keep it, and the
// conformance suite in crawl/store/storetest runs the same cases on both:
//
//   - [DB], one SQLite file (modernc.org/sqlite, pure Go) in OUT/.crawl that
//     every stage process of an embedded crawl opens at the same time. Every
//     call is one transaction; writes take SQLite's write lock up front
//     (BEGIN IMMEDIATE) so that processes wait for one another
//     (busy_timeout) instead of failing. WAL mode with synchronous=NORMAL:
//     what a call has committed survives the crash or kill -9 of the
//     process. It also holds this machine's file name reservations.
//   - [RedisDB], a crawl on a Redis server that stage processes on several
//     machines share; its doc gives the key layout. [OpenQueue] opens the
//     backend a --queue value names.
//
// Glossary of the queue: a task is put (once per run generation: the seen
// set), leased by an owner (a stage process), kept by its heartbeat
// (Extend), and ends acked (done) or failed. Released: given back at once
// because its owner died. A run generation ends with Restart.
//
// A [Dir] is the output folder. [Dir.Reserve] picks a safe file name that no
// other URL uses ([SafePath] makes any template output safe), [Dir.OpenPart]
// writes a file beside its final name as NAME.part, resumable and hashed on
// the fly, and [Part.Commit] renames it into place only once it is complete.
// [Dir.WriteManifest] writes manifest.csv from the file records, and
// [WriteFailed] failed.csv from the failures; both are written whole or
// not at all.
package store
