//! Case search and statistics latency for `docs/performance.md`: 100 000 generated cases
//! (two parties each, a hearing for most) in a temporary SQLite database and, when
//! `YUNTING_BENCH_PG_URL` is set (an admin URL: a fresh database is created on that
//! server), in PostgreSQL. Each search runs through `store::views::list` (the count and
//! one page of 20, as `GET /api/cases` does, without the HTTP and audit write) and prints
//! p50/p99 in milliseconds.
//!
//! Run: `nice -n 10 cargo bench --bench search` (optionally `YUNTING_BENCH_CASES=…`,
//! `YUNTING_BENCH_RUNS=…`).

use std::time::Instant;
use yunting::authz::{Principal, StaffPrincipal};
use yunting::db::Db;
use yunting::domain::roles::StaffRole;
use yunting::domain::statistics::Month;
use yunting::store::views::{self, ListQuery};
use yunting::time::DAY_MS;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "小红", "建国", "志强", "海燕", "晓东",
    "文博", "子涵",
];
const CITIES: &[&str] = &[
    "广州", "深圳", "佛山", "东莞", "珠海", "中山", "惠州", "江门",
];
const TRADES: &[&str] = &[
    "科技", "物流", "餐饮", "建筑", "电子", "贸易", "服装", "教育", "医药", "传媒",
];
const CAUSES: &[&str] = &[
    "劳动报酬",
    "加班费",
    "经济补偿",
    "违法解除劳动合同赔偿金",
    "确认劳动关系",
    "工伤保险待遇",
];
const METHODS: &[&str] = &[
    "mediation",
    "mediation",
    "mediation",
    "award",
    "award",
    "withdrawal",
    "deemed_withdrawal",
    "rejection",
];

/// A small deterministic generator (xorshift64*), so both backends get the same data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Seeded {
    commission: i64,
    clerk: i64,
    arbitrator: i64,
    mediator: i64,
    /// A party name, a phone and a case number that exist.
    name: String,
    phone: String,
    number: String,
}

async fn exec(db: &Db, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&db.pool)
        .await
        .expect("seed statement");
}

async fn seed(db: &Db, n: usize) -> Seeded {
    let t0 = Instant::now();
    let now = yunting::time::now_ms();
    let (commission,): (i64,) = sqlx::query_as("INSERT INTO commissions (name, case_prefix, seal_public_key, created_at) VALUES ('广州市劳动人事争议仲裁委员会', '穗劳人仲案', '', $1) RETURNING id")
        .bind(now)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let mut users = Vec::new();
    for (i, role) in std::iter::repeat_n("arbitrator", 20)
        .chain(std::iter::repeat_n("mediator", 10))
        .chain(["clerk"])
        .enumerate()
    {
        let (id,): (i64,) = sqlx::query_as("INSERT INTO users (commission_id, username, display_name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, 'x', $5) RETURNING id")
            .bind(commission)
            .bind(format!("u{i}"))
            .bind(format!("员工{i}"))
            .bind(role)
            .bind(now)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        users.push((id, role));
    }
    let arbitrators: Vec<i64> = users
        .iter()
        .filter(|u| u.1 == "arbitrator")
        .map(|u| u.0)
        .collect();
    let mediators: Vec<i64> = users
        .iter()
        .filter(|u| u.1 == "mediator")
        .map(|u| u.0)
        .collect();
    let clerk = users.last().unwrap().0;
    let (first_case,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) + 1 FROM cases")
        .fetch_one(&db.pool)
        .await
        .unwrap();

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let span = 5 * 365 * DAY_MS;
    let start = now - span;
    let batch = 500;
    let mut sample = None;
    let mut case_rows = Vec::with_capacity(batch);
    let mut party_rows = Vec::with_capacity(2 * batch);
    let mut hearing_rows = Vec::with_capacity(batch);
    // Case ids are assigned in insertion order on both backends (fresh database).
    for i in 0..n {
        let id = first_case + i as i64;
        let accepted = start + (i as i64) * span / n as i64 + rng.below(3_600_000) as i64;
        let year = yunting::time::local_year(accepted, 8);
        let number = format!("穗劳人仲案〔{year}〕{}号", i + 1);
        let open = accepted > now - 60 * DAY_MS || rng.below(100) < 3;
        let (status, method, closed) = if open {
            let s = ["accepted", "awaiting_hearing", "hearing_closed"][rng.below(3)];
            (s, "NULL".to_string(), "NULL".to_string())
        } else {
            let days = 5 + rng.below(70) as i64;
            (
                "closed",
                format!("'{}'", rng.pick(METHODS)),
                (accepted + days * DAY_MS).to_string(),
            )
        };
        let arb = arbitrators[rng.below(arbitrators.len())];
        let procedure = if rng.below(3) == 0 {
            "simplified"
        } else {
            "ordinary"
        };
        case_rows.push(format!(
            "({commission}, '{number}', {year}, '{}', '{procedure}', '{status}', {method}, {arb}, NULL, 0, {accepted}, {closed}, {clerk})",
            rng.pick(CAUSES)
        ));
        let person = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
        let phone = format!("13{:09}", rng.next() % 1_000_000_000);
        let company = format!(
            "{}市{}{}有限公司",
            rng.pick(CITIES),
            rng.pick(GIVEN),
            rng.pick(TRADES)
        );
        let phone2 = format!("18{:09}", rng.next() % 1_000_000_000);
        party_rows.push(format!(
            "({id}, 'applicant', 'person', '{person}', NULL, '{phone}', '110105198801011234', {accepted})"
        ));
        party_rows.push(format!(
            "({id}, 'respondent', 'organisation', '{company}', '法人', '{phone2}', '91440101MA5CXXXX00', {accepted})"
        ));
        if rng.below(10) < 6 {
            let hstatus = if open { "scheduled" } else { "closed" };
            hearing_rows.push(format!(
                "({id}, {}, {arb}, {clerk}, {}, '{hstatus}', {accepted})",
                accepted + 20 * DAY_MS,
                mediators[rng.below(mediators.len())]
            ));
        }
        if i == n / 2 {
            sample = Some((person.clone(), phone.clone(), number.clone()));
        }
        if case_rows.len() == batch || i + 1 == n {
            exec(db, format!("INSERT INTO cases (commission_id, number, year, cause, procedure_kind, status, closing_method, arbitrator_id, counterclaim_of, merged_hearing, accepted_at, closed_at, created_by) VALUES {}", case_rows.join(","))).await;
            exec(db, format!("INSERT INTO parties (case_id, side, kind, name, legal_rep, phone, id_number, created_at) VALUES {}", party_rows.join(","))).await;
            if !hearing_rows.is_empty() {
                exec(db, format!("INSERT INTO hearings (case_id, scheduled_at, presiding_arbitrator_id, clerk_id, mediator_id, status, created_at) VALUES {}", hearing_rows.join(","))).await;
            }
            case_rows.clear();
            party_rows.clear();
            hearing_rows.clear();
        }
    }
    let (check,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM cases")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(check, n as i64);
    eprintln!(
        "  seeded {n} cases, {} parties in {:.1} s",
        2 * n,
        t0.elapsed().as_secs_f64()
    );
    let (name, phone, number) = sample.unwrap();
    Seeded {
        commission,
        clerk,
        arbitrator: arbitrators[0],
        mediator: mediators[0],
        name,
        phone,
        number,
    }
}

fn staff(s: &Seeded, role: StaffRole) -> Principal {
    let user_id = match role {
        StaffRole::Arbitrator => s.arbitrator,
        StaffRole::Mediator => s.mediator,
        _ => s.clerk,
    };
    Principal::Staff(StaffPrincipal {
        user_id,
        commission_id: s.commission,
        role,
        display_name: String::new(),
    })
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn bench_backend(label: &str, url: &str, n: usize, runs: usize) {
    eprintln!("{label}: {url}");
    let db = Db::connect(url).await.expect("connect");
    let s = seed(&db, n).await;
    if db.backend == yunting::db::Backend::Postgres {
        // What autovacuum would have done by the time 100 000 cases exist.
        exec(&db, "ANALYZE".into()).await;
    }
    let clerk = staff(&s, StaffRole::Clerk);
    let q = |f: &dyn Fn(&mut ListQuery)| {
        let mut l = ListQuery {
            page: 1,
            per_page: 20,
            ..Default::default()
        };
        f(&mut l);
        l
    };
    let surname: String = s.name.chars().take(1).collect();
    let tail4: String = s.phone[7..].to_string();
    let part_number: String = s.number.chars().skip(5).take(7).collect();
    let d = |date: &str| yunting::domain::statistics::day_start_ms(date, 8).unwrap();
    let year = yunting::time::local_year(yunting::time::now_ms(), 8) - 2;
    let month_from = d(&format!("{year}-03-01"));
    let month_to = d(&format!("{year}-04-01"));
    let cases: Vec<(String, Principal, ListQuery)> = vec![
        ("clerk, no filter, page 1".into(), clerk.clone(), q(&|_| {})),
        (
            "clerk, no filter, page 2000".into(),
            clerk.clone(),
            q(&|l| l.page = 2000),
        ),
        (
            format!("party name, whole ({})", s.name),
            clerk.clone(),
            q(&|l| l.party = Some(s.name.clone())),
        ),
        (
            format!("party name, surname only ({surname})"),
            clerk.clone(),
            q(&|l| l.party = Some(surname.clone())),
        ),
        (
            "party name, company part (物流)".into(),
            clerk.clone(),
            q(&|l| l.party = Some("物流".into())),
        ),
        (
            "party name, no match".into(),
            clerk.clone(),
            q(&|l| l.party = Some("欧阳不存在".into())),
        ),
        (
            "phone, whole number".into(),
            clerk.clone(),
            q(&|l| l.phone = Some(s.phone.clone())),
        ),
        (
            format!("phone, last 4 digits ({tail4})"),
            clerk.clone(),
            q(&|l| l.phone = Some(tail4.clone())),
        ),
        (
            "case number, whole".into(),
            clerk.clone(),
            q(&|l| l.number = Some(s.number.clone())),
        ),
        (
            format!("case number, part ({part_number})"),
            clerk.clone(),
            q(&|l| l.number = Some(part_number.clone())),
        ),
        (
            "free text q (party name)".into(),
            clerk.clone(),
            q(&|l| l.q = Some(s.name.clone())),
        ),
        (
            "arbitrator_id".into(),
            clerk.clone(),
            q(&|l| l.arbitrator_id = Some(s.arbitrator)),
        ),
        (
            "accepted in one month".into(),
            clerk.clone(),
            q(&|l| {
                l.accepted_from = Some(month_from);
                l.accepted_to = Some(month_to);
            }),
        ),
        (
            "status + procedure".into(),
            clerk.clone(),
            q(&|l| {
                l.status = Some("awaiting_hearing".into());
                l.procedure = Some("simplified".into());
            }),
        ),
        (
            "closing method (mediation)".into(),
            clerk.clone(),
            q(&|l| l.closing_method = Some("mediation".into())),
        ),
        (
            "arbitrator's own cases".into(),
            staff(&s, StaffRole::Arbitrator),
            q(&|_| {}),
        ),
        (
            "mediator's own cases".into(),
            staff(&s, StaffRole::Mediator),
            q(&|_| {}),
        ),
        (
            "party name + date + status".into(),
            clerk.clone(),
            q(&|l| {
                l.party = Some(surname.clone());
                l.accepted_from = Some(month_from);
                l.accepted_to = Some(month_to);
                l.status = Some("closed".into());
            }),
        ),
    ];
    println!("\n### {label}: {n} cases, {runs} runs each (ms)\n");
    println!("| search | matches | p50 | p99 |");
    println!("|---|---:|---:|---:|");
    let mut conn = db.pool.acquire().await.unwrap();
    for (name, who, query) in &cases {
        let mut total = 0;
        for _ in 0..3 {
            total = views::list(&mut conn, who, query).await.unwrap().1;
        }
        let mut ms = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let (items, _) = views::list(&mut conn, who, query).await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(items);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "| {name} | {total} | {:.2} | {:.2} |",
            pct(&ms, 0.5),
            pct(&ms, 0.99)
        );
    }
    // Statistics: the default twelve months, computed as the endpoint does.
    let this = Month::of(yunting::time::now_ms(), 8);
    let (from, to) = (this.minus(11), this);
    let stat_runs = (runs / 5).max(5);
    let mut ms = Vec::with_capacity(stat_runs);
    let mut rows = 0;
    for _ in 0..stat_runs {
        let t = Instant::now();
        let facts = yunting::store::statistics::case_facts(
            &mut conn,
            &clerk,
            from.start_ms(8),
            to.next().start_ms(8),
            false,
        )
        .await
        .unwrap();
        rows = facts.len();
        let st = yunting::domain::statistics::compute(&facts, from, to, 8);
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(st);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "| statistics, 12 months (clerk; {rows} case rows read) | — | {:.2} | {:.2} |",
        pct(&ms, 0.5),
        pct(&ms, 0.99)
    );
}

fn main() {
    // `cargo test --all-targets` runs this too (without `--bench`): a smoke run then.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n = env_usize("YUNTING_BENCH_CASES", if smoke { 2_000 } else { 100_000 });
    let runs = env_usize("YUNTING_BENCH_RUNS", if smoke { 3 } else { 100 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        bench_backend("SQLite", &url, n, runs).await;
        if let Ok(admin) = std::env::var("YUNTING_BENCH_PG_URL") {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to YUNTING_BENCH_PG_URL");
            let name = format!(
                "yt_bench_{}",
                yunting::crypto::hex(&yunting::crypto::random_bytes::<4>())
            );
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or(admin.clone());
            bench_backend("PostgreSQL", &format!("{base}/{name}"), n, runs).await;
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        } else {
            eprintln!("YUNTING_BENCH_PG_URL not set: PostgreSQL skipped");
        }
    });
}
