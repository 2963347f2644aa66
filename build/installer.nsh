; hostmem's additions to electron-builder's NSIS installer (picked up from build/ as installer.nsh).
;
; The uninstaller removes what the running app wrote outside its own folder, for the user who uninstalls:
;  - the per-user Start-menu shortcut Electron writes for toasts (<productName>.lnk, with the AppUserModelID and the
;    toast activator CLSID): after an all-users install it is not the installer's own shortcut;
;  - the toast activator's COM registration, HKCU\Software\Classes\CLSID\{TOAST_ACTIVATOR_CLSID};
;  - the login item: the Run value Electron names after the AppUserModelID, and its StartupApproved entry.
; An update runs the old uninstaller first: then all of this stays (the new version uses the same names).
; main/shell/identity.test.ts checks these names against main/shell/identity.ts.

!macro customUnInstall
  ${ifNot} ${isUpdated}
    ${if} $installMode == "all"
      SetShellVarContext current
    ${endif}
    Delete "$SMPROGRAMS\hostmem.lnk"
    ${if} $installMode == "all"
      SetShellVarContext all
    ${endif}
    DeleteRegKey HKCU "Software\Classes\CLSID\{8915AA7E-3BDA-4660-AF17-25DCCDEE4DD9}"
    DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Run" "dev.hostmem.app"
    DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run" "dev.hostmem.app"
  ${endif}
!macroend
