// Package store holds the durable state of a crawl and turns downloaded bytes
// into files.
//
// A [DB] is one SQLite file (modernc.org/sqlite, pure Go) that every stage
// process of a crawl opens at the same time. It holds:
//
//   - the queues ("list", "parse", "download"): at-least-once task queues
//     with leases. A task is leased by an owner for a while ([DB.Lease]),
//     and then acknowledged ([DB.Ack], [DB.AckFile]), given back for a later
//     attempt ([DB.Retry]) or recorded as failed ([DB.Fail]). A lease that
//     runs out, or whose owner is released ([DB.Release]), makes the task
//     ready again. Two owners never hold the same task at once, even across
//     processes.
//   - the seen set: a task's (Queue, Key) is put at most once per run
//     generation ([DB.Restart] begins a new one);
//   - file name reservations and file records.
//
// Every call is one transaction; writes take SQLite's write lock up front
// (BEGIN IMMEDIATE) so that processes wait for one another (busy_timeout)
// instead of failing. The database runs in WAL mode with synchronous=NORMAL:
// what a call has committed survives the crash or kill -9 of the process.
//
// A [Dir] is the output folder. [Dir.Reserve] picks a safe file name that no
// other URL uses ([SafePath] makes any template output safe), [Dir.OpenPart]
// writes a file beside its final name as NAME.part, resumable and hashed on
// the fly, and [Part.Commit] renames it into place only once it is complete.
// [Dir.WriteManifest] writes manifest.csv from the file records, and
// [WriteFailed] failed.csv from the failures; both are written whole or
// not at all.
package store
