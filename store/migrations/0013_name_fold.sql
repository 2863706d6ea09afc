-- Vietnamese name search: name_fold is the name with case and diacritics
-- folded (Fold in store/fold.go: NFD, marks dropped, đ → d, lower case), so
-- "nguyen", "NGUYỄN" and a decomposed "Nguyễn" all find "Nguyễn". The store
-- writes it with every name it writes; rows written without it (the
-- benchmark generator's raw inserts, databases from before this migration)
-- are filled at Open. Searches match a substring of it.
ALTER TABLE users ADD COLUMN name_fold TEXT CHECK (name_fold IS NULL OR length(name_fold) <= 800);
ALTER TABLE teams ADD COLUMN name_fold TEXT CHECK (name_fold IS NULL OR length(name_fold) <= 800);
ALTER TABLE areas ADD COLUMN name_fold TEXT CHECK (name_fold IS NULL OR length(name_fold) <= 800);
CREATE INDEX users_name_fold ON users (name_fold);
CREATE INDEX teams_name_fold ON teams (name_fold);
CREATE INDEX areas_name_fold ON areas (name_fold);
