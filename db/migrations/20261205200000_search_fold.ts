import type { Knex } from 'knex';

// One normalisation for every search (issue 21): case and accents folded, the same in SQL (patients, searched
// by the database) and in the API (records and appointments, whose text is encrypted: common/search.ts). A
// plain SQL function (no extension needed, so managed databases run it too), immutable so it may be indexed.
// The letters folded are Latin-1 and Latin Extended-A/B with their base letter (NFD), upper and lower case,
// plus the letters that do not decompose (ø, đ, ł, ı, ħ, ŧ, ŀ) and the ligatures œ, æ and ß.
export const FOLD_FROM =
  'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳøØđĐłŁıħĦŧŦŀĿ';
export const FOLD_TO =
  'aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzoouuaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyyooddllihhttll';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `create or replace function mediconnect_fold(t text) returns text language sql immutable strict parallel safe as $$
       select translate(lower(replace(replace(replace(replace(replace(t, 'Œ', 'oe'), 'œ', 'oe'), 'Æ', 'ae'), 'æ', 'ae'), 'ß', 'ss')), ?, ?)
     $$`
      .replace('?', `'${FOLD_FROM}'`)
      .replace('?', `'${FOLD_TO}'`),
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function mediconnect_fold(text)');
}
