// The PostgreSQL store's global positions (pg_store.h says why): an append's
// events are (xid << kPositionBits) | i, i = 1..n, and a read shows only
// positions below kReadableFrontierSql, the xmin of its snapshot shifted the
// same way: every transaction below it has ended. Constants only.
#ifndef ESTORIA_CORE_PGSTORE_PG_POSITION_H_
#define ESTORIA_CORE_PGSTORE_PG_POSITION_H_

namespace estoria::core::pgstore {

inline constexpr int kPositionBits = 20;  // events per transaction < 2^20 (kMaxBatchEvents is 100000)

// SQL: the first position not yet readable in the statement's snapshot.
inline constexpr char kReadableFrontierSql[] = "(pg_snapshot_xmin(pg_current_snapshot())::text::int8 << 20)";

}  // namespace estoria::core::pgstore

#endif  // ESTORIA_CORE_PGSTORE_PG_POSITION_H_
