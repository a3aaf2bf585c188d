//! The plans PostgreSQL picks for lists and searches: keyset pages walk the list-order
//! index and selective searches start from the trigram indexes, never from a scan of
//! every row.

use identity_server::domain::contact::{EmailAddress, PhoneNumber};
use identity_server::domain::user_identity::NewUserIdentity;
use identity_server::store::postgres::PostgresStore;
use identity_server::store::{ConnectOptions, ListFilter, ListPosition, PageRequest, Store};

use crate::database;

const ROWS: u64 = 5_000;

fn row(i: u64) -> NewUserIdentity {
    NewUserIdentity {
        user_identity_key: Some(format!("plan-{i}")),
        email_address: Some(EmailAddress::parse(&format!("plan{i}@plans.example")).unwrap()),
        phone_number: Some(PhoneNumber::parse(&format!("+1666{i:07}")).unwrap()),
        full_name: Some(format!("Plan Person {i}")),
    }
}

#[tokio::test]
async fn lists_and_searches_use_indexes() {
    let Some(admin_url) = database::admin_url() else {
        eprintln!("IDENTITY_TEST_POSTGRES_URL is not set; skipped");
        return;
    };
    let url = database::fresh_database(&admin_url).await;
    let seeder = PostgresStore::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    let mut workspaces = Vec::new();
    for name in ["Plans", "Neighbour"] {
        let workspace = seeder.create_workspace(name).await.unwrap().workspace_id;
        let rows = (0..ROWS).map(row).collect();
        seeder
            .bulk_create_user_identities(workspace, rows)
            .await
            .unwrap();
        workspaces.push(workspace);
    }
    // What `admin seed` does after a bulk load: the freshly inserted trigrams move out of
    // GIN's pending lists (autovacuum would, later), without which the planner rightly
    // avoids those indexes, and the statistics are refreshed.
    seeder.compact().await.unwrap();
    let store = PostgresStore::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    let workspace = workspaces[0];
    let first_page = PageRequest {
        after: None,
        limit: 501,
    };
    let rows = store
        .list_user_identities(workspace, &ListFilter::default(), first_page)
        .await
        .unwrap()
        .to_identities();
    let deep_page = PageRequest {
        after: Some(ListPosition::of(&rows[500])),
        limit: 501,
    };

    let plan = store
        .explain_list(workspace, &ListFilter::default(), deep_page)
        .await
        .unwrap();
    eprintln!("keyset page:\n{plan}");
    assert!(plan.contains("user_identities_list_order"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");

    // Names, emails and phones are all found through the one trigram index.
    for text in ["Person 1234", "PLAN777@", "6660004321"] {
        let search = ListFilter {
            search: Some(text.into()),
            ..ListFilter::default()
        };
        let plan = store
            .explain_list(workspace, &search, deep_page)
            .await
            .unwrap();
        eprintln!("search {text:?}:\n{plan}");
        assert!(plan.contains("user_identities_search"), "{plan}");
        assert!(!plan.contains("Seq Scan"), "{plan}");
    }
}
