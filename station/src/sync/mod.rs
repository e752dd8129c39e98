//! Order-center sync: outbox delivery, order download, adapters (reference REST, 聚水潭, 旺店通).
